#include "daemon/store/records.h"

#include <algorithm>

#include "daemon/store/codec.h"
#include "daemon/store/keys.h"

namespace rdz {

namespace {

template <typename T, typename Decode>
kj::Maybe<T> getRecord(Reader& r, Entity e, Family f, std::string_view key, Decode decode) {
  KJ_IF_MAYBE(bytes, r.get(e, f, key)) {
    return decode(*bytes);
  }
  return nullptr;
}

template <typename T, typename Decode>
std::vector<T> listRecords(Reader& r, Entity e, Family f, Decode decode) {
  std::vector<T> out;
  r.scan(e, f, "", [&](std::string_view, std::string_view value) {
    out.push_back(decode(value));
    return true;
  });
  return out;
}

}  // namespace

kj::Maybe<Lead> getLead(Reader& r, Entity e, std::string_view id) {
  return getRecord<Lead>(r, e, Family::LEADS, id, decodeLead);
}

void putLead(Txn& txn, const Lead& lead, const Lead* previous) {
  const Entity e = lead.entity;
  if (previous != nullptr) {
    KJ_ASSERT(previous->id == lead.id && previous->entity == lead.entity);
    txn.del(e, Family::INDEX, keys::statusKey(previous->statut, previous->recuLe, previous->id));
    if (!previous->telephoneE164.empty()) {
      txn.del(e, Family::INDEX, keys::phoneKey(previous->telephoneE164, previous->produit,
                                               previous->recuLe, previous->id));
    }
  }
  txn.put(e, Family::LEADS, lead.id, encode(lead));
  txn.put(e, Family::INDEX, keys::statusKey(lead.statut, lead.recuLe, lead.id), "");
  if (!lead.telephoneE164.empty()) {
    txn.put(e, Family::INDEX, keys::phoneKey(lead.telephoneE164, lead.produit, lead.recuLe,
                                             lead.id), "");
  }
}

void addHistory(Txn& txn, Entity e, std::string_view leadId, const HistoryEvent& event,
                uint32_t seq) {
  txn.put(e, Family::HISTORY, keys::historyKey(leadId, event.at, seq), encode(event));
}

std::vector<HistoryEvent> getHistory(Reader& r, Entity e, std::string_view leadId) {
  std::vector<HistoryEvent> out;
  r.scan(e, Family::HISTORY, keys::historyPrefix(leadId), [&](auto, std::string_view value) {
    out.push_back(decodeHistoryEvent(value));
    return true;
  });
  return out;
}

std::vector<Lead> leadsByPhone(Reader& r, Entity e, std::string_view e164) {
  std::vector<std::string> ids;
  r.scan(e, Family::INDEX, keys::phonePrefix(e164), [&](std::string_view key, auto) {
    ids.emplace_back(keys::idOfIndexKey(key));
    return true;
  });
  std::sort(ids.begin(), ids.end());  // ids are time-ordered: oldest first across produits
  std::vector<Lead> out;
  for (auto& id : ids) {
    KJ_IF_MAYBE(lead, getLead(r, e, id)) {
      out.push_back(kj::mv(*lead));
    }
  }
  return out;
}

kj::Maybe<std::string> firstSubmissionSince(Reader& r, Entity e, std::string_view e164,
                                            std::string_view produit, Timestamp since,
                                            Timestamp until) {
  std::string prefix = keys::phoneProduitPrefix(e164, produit);
  kj::Maybe<std::string> first;
  r.scan(e, Family::INDEX, prefix, [&](std::string_view key, auto) {
    Timestamp t = keys::readTime(key.substr(prefix.size()));
    if (t > until) return false;
    if (t >= since) {
      first = std::string(keys::idOfIndexKey(key));
      return false;
    }
    return true;
  });
  return first;
}

std::vector<std::string> leadIdsByStatus(Reader& r, Entity e, Statut s, bool newestFirst) {
  std::vector<std::string> ids;
  r.scan(
      e, Family::INDEX, keys::statusPrefix(s),
      [&](std::string_view key, auto) {
        ids.emplace_back(keys::idOfIndexKey(key));
        return true;
      },
      newestFirst);
  return ids;
}

std::string lastLeadId(Reader& r, Entity e) {
  std::string last;
  r.scan(
      e, Family::LEADS, "",
      [&](std::string_view key, auto) {
        last = std::string(key);
        return false;
      },
      true);
  return last;
}

kj::Maybe<Client> getClient(Reader& r, Entity e, std::string_view id) {
  return getRecord<Client>(r, e, Family::CLIENTS, id, decodeClient);
}
void putClient(Txn& txn, const Client& client) {
  txn.put(client.entity, Family::CLIENTS, client.id, encode(client));
}
std::vector<Client> listClients(Reader& r, Entity e) {
  return listRecords<Client>(r, e, Family::CLIENTS, decodeClient);
}

kj::Maybe<Commande> getCommande(Reader& r, Entity e, std::string_view id) {
  return getRecord<Commande>(r, e, Family::COMMANDES, id, decodeCommande);
}
void putCommande(Txn& txn, const Commande& commande) {
  txn.put(commande.entity, Family::COMMANDES, commande.id, encode(commande));
}
std::vector<Commande> listCommandes(Reader& r, Entity e) {
  return listRecords<Commande>(r, e, Family::COMMANDES, decodeCommande);
}

kj::Maybe<Produit> getProduit(Reader& r, Entity e, std::string_view code) {
  for (auto& p : listProduits(r, e)) {
    if (p.code == code) return p;
  }
  return nullptr;
}
void putProduit(Txn& txn, const Produit& produit) {
  txn.put(produit.entity, Family::PRODUITS, produit.code, encode(produit));
}
std::vector<Produit> listProduits(Reader& r, Entity e) {
  // The default catalogue is always there; a stored produit of the same code overrides it.
  std::vector<Produit> out = defaultCatalogue(e);
  for (auto& p : listRecords<Produit>(r, e, Family::PRODUITS, decodeProduit)) {
    auto same = std::find_if(out.begin(), out.end(), [&](auto& d) { return d.code == p.code; });
    if (same != out.end()) {
      *same = kj::mv(p);
    } else {
      out.push_back(kj::mv(p));
    }
  }
  return out;
}

uint64_t nextCounter(Txn& txn, std::string_view name) {
  std::string key = keys::counterKey(name);
  uint64_t value = 0;
  KJ_IF_MAYBE(bytes, txn.getSystem(key)) {
    KJ_ASSERT(bytes->size() == 8, "corrupt counter", std::string(name));
    for (unsigned char c : *bytes) value = (value << 8) | c;
  }
  ++value;
  std::string out;
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((value >> shift) & 0xff);
  txn.putSystem(key, out);
  return value;
}

}  // namespace rdz
