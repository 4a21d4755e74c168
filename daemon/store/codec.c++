#include "daemon/store/codec.h"

#include <kj/debug.h>

#include <cstring>

namespace rdz {

namespace {

int64_t micros(std::optional<Timestamp> t) { return t ? t->time_since_epoch().count() : 0; }
int64_t micros(Timestamp t) { return t.time_since_epoch().count(); }
std::optional<Timestamp> optionalTime(int64_t us) {
  if (us == 0) return std::nullopt;
  return Timestamp(Duration(us));
}
std::string str(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

void setTexts(capnp::List<capnp::Text>::Builder out, const std::vector<std::string>& values) {
  for (size_t i = 0; i < values.size(); ++i) out.set(i, values[i]);
}
std::vector<std::string> texts(capnp::List<capnp::Text>::Reader in) {
  std::vector<std::string> out;
  out.reserve(in.size());
  for (auto t : in) out.push_back(str(t));
  return out;
}

template <typename T, typename Value>
std::string encodeWith(const Value& value) {
  capnp::MallocMessageBuilder message(256);
  toCapnp(value, message.initRoot<T>());
  return encodeMessage(message);
}

}  // namespace

schema::Entity toCapnp(Entity e) { return static_cast<schema::Entity>(e); }
Entity fromCapnp(schema::Entity e) {
  KJ_REQUIRE(e == schema::Entity::ZR7 || e == schema::Entity::MDL, "unknown entity");
  return static_cast<Entity>(e);
}
schema::Statut toCapnp(Statut s) { return static_cast<schema::Statut>(s); }
Statut fromCapnp(schema::Statut s) { return static_cast<Statut>(s); }

void toCapnp(const Lead& lead, schema::Lead::Builder out) {
  out.setId(lead.id);
  out.setEntity(toCapnp(lead.entity));
  out.setProduit(lead.produit);
  out.setNom(lead.nom);
  out.setPrenom(lead.prenom);
  out.setTelephone(lead.telephone);
  out.setTelephoneE164(lead.telephoneE164);
  out.setEmail(lead.email);
  out.setCodePostal(lead.codePostal);
  out.setDepartement(lead.departement);
  out.setVille(lead.ville);
  out.setProprietaire(static_cast<schema::TriState>(lead.proprietaire));
  out.setTypeLogement(static_cast<schema::TypeLogement>(lead.typeLogement));
  out.setConsentement(lead.consentement);
  out.setConsentementTexte(lead.consentementTexte);
  out.setConsentementLe(micros(lead.consentementLe));
  out.setPageUrl(lead.pageUrl);
  out.setIp(lead.ip);
  out.setUserAgent(lead.userAgent);
  out.setSource(lead.source);
  out.setUtmSource(lead.utmSource);
  out.setUtmMedium(lead.utmMedium);
  out.setUtmCampaign(lead.utmCampaign);
  out.setRecuLe(micros(lead.recuLe));
  out.setStatut(toCapnp(lead.statut));
  setTexts(out.initProblemes(lead.problemes.size()), lead.problemes);
  out.setDoublonDe(lead.doublonDe);
  out.setNbLivraisons(lead.nbLivraisons);
  out.setDerniereLivraison(micros(lead.derniereLivraison));
  out.setEfface(lead.efface);
}

Lead fromCapnp(schema::Lead::Reader in) {
  Lead lead;
  lead.id = str(in.getId());
  lead.entity = fromCapnp(in.getEntity());
  lead.produit = str(in.getProduit());
  lead.nom = str(in.getNom());
  lead.prenom = str(in.getPrenom());
  lead.telephone = str(in.getTelephone());
  lead.telephoneE164 = str(in.getTelephoneE164());
  lead.email = str(in.getEmail());
  lead.codePostal = str(in.getCodePostal());
  lead.departement = str(in.getDepartement());
  lead.ville = str(in.getVille());
  lead.proprietaire = static_cast<TriState>(in.getProprietaire());
  lead.typeLogement = static_cast<TypeLogement>(in.getTypeLogement());
  lead.consentement = in.getConsentement();
  lead.consentementTexte = str(in.getConsentementTexte());
  lead.consentementLe = optionalTime(in.getConsentementLe());
  lead.pageUrl = str(in.getPageUrl());
  lead.ip = str(in.getIp());
  lead.userAgent = str(in.getUserAgent());
  lead.source = str(in.getSource());
  lead.utmSource = str(in.getUtmSource());
  lead.utmMedium = str(in.getUtmMedium());
  lead.utmCampaign = str(in.getUtmCampaign());
  lead.recuLe = Timestamp(Duration(in.getRecuLe()));
  lead.statut = fromCapnp(in.getStatut());
  lead.problemes = texts(in.getProblemes());
  lead.doublonDe = str(in.getDoublonDe());
  lead.nbLivraisons = in.getNbLivraisons();
  lead.derniereLivraison = optionalTime(in.getDerniereLivraison());
  lead.efface = in.getEfface();
  return lead;
}

void toCapnp(const HistoryEvent& event, schema::HistoryEvent::Builder out) {
  out.setAt(micros(event.at));
  out.setEvent(event.event);
  out.setDetail(event.detail);
}

HistoryEvent fromCapnp(schema::HistoryEvent::Reader in) {
  return {Timestamp(Duration(in.getAt())), str(in.getEvent()), str(in.getDetail())};
}

void toCapnp(const Client& client, schema::Client::Builder out) {
  out.setId(client.id);
  out.setEntity(toCapnp(client.entity));
  out.setNom(client.nom);
  setTexts(out.initEmails(client.emails.size()), client.emails);
  setTexts(out.initCc(client.cc.size()), client.cc);
  out.setMethode(static_cast<schema::Methode>(client.methode));
  out.setApiUrl(client.apiUrl);
  out.setApiHeader(client.apiHeader);
  out.setActif(client.actif);
  out.setCreeLe(micros(client.creeLe));
}

Client fromCapnp(schema::Client::Reader in) {
  Client client;
  client.id = str(in.getId());
  client.entity = fromCapnp(in.getEntity());
  client.nom = str(in.getNom());
  client.emails = texts(in.getEmails());
  client.cc = texts(in.getCc());
  client.methode = static_cast<Methode>(in.getMethode());
  client.apiUrl = str(in.getApiUrl());
  client.apiHeader = str(in.getApiHeader());
  client.actif = in.getActif();
  client.creeLe = optionalTime(in.getCreeLe());
  return client;
}

void toCapnp(const Commande& commande, schema::Commande::Builder out) {
  out.setId(commande.id);
  out.setEntity(toCapnp(commande.entity));
  out.setClient(commande.client);
  out.setProduit(commande.produit);
  setTexts(out.initDepartements(commande.departements.size()), commande.departements);
  out.setQuotaSemaine(commande.quotaSemaine);
  out.setQuotaJour(commande.quotaJour);
  out.setPriorite(commande.priorite);
  out.setLbMaxPct(commande.lbMaxPct);
  out.setFallback(commande.fallback);
  setTexts(out.initJours(commande.jours.size()), commande.jours);
  out.setDebut(commande.debut);
  out.setFin(commande.fin);
  out.setActif(commande.actif);
  out.setCreeLe(micros(commande.creeLe));
}

Commande fromCapnp(schema::Commande::Reader in) {
  Commande commande;
  commande.id = str(in.getId());
  commande.entity = fromCapnp(in.getEntity());
  commande.client = str(in.getClient());
  commande.produit = str(in.getProduit());
  commande.departements = texts(in.getDepartements());
  commande.quotaSemaine = in.getQuotaSemaine();
  commande.quotaJour = in.getQuotaJour();
  commande.priorite = in.getPriorite();
  commande.lbMaxPct = in.getLbMaxPct();
  commande.fallback = in.getFallback();
  commande.jours = texts(in.getJours());
  commande.debut = str(in.getDebut());
  commande.fin = str(in.getFin());
  commande.actif = in.getActif();
  commande.creeLe = optionalTime(in.getCreeLe());
  return commande;
}

void toCapnp(const Produit& produit, schema::Produit::Builder out) {
  out.setEntity(toCapnp(produit.entity));
  out.setCode(produit.code);
  out.setLibelle(produit.libelle);
}

Produit fromCapnp(schema::Produit::Reader in) {
  return {fromCapnp(in.getEntity()), str(in.getCode()), str(in.getLibelle())};
}

void toCapnp(const Submission& fields, capnp::List<schema::Field>::Builder out) {
  for (size_t i = 0; i < fields.size(); ++i) {
    out[i].setName(fields[i].name);
    out[i].setValue(fields[i].value);
  }
}

Submission fromCapnp(capnp::List<schema::Field>::Reader in) {
  Submission fields;
  fields.reserve(in.size());
  for (auto f : in) fields.push_back({str(f.getName()), str(f.getValue())});
  return fields;
}

std::string encodeMessage(capnp::MessageBuilder& message) {
  auto words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

StoredMessage::StoredMessage(std::string_view bytes) {
  KJ_REQUIRE(bytes.size() % sizeof(capnp::word) == 0, "corrupt record: size not a word multiple",
             bytes.size());
  // Copy: RocksDB's buffers are not word-aligned and do not outlive the read.
  words_ = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
  memcpy(words_.begin(), bytes.data(), bytes.size());
  reader_ = kj::heap<capnp::FlatArrayMessageReader>(words_.asPtr());
}

std::string encode(const Lead& v) { return encodeWith<schema::Lead>(v); }
std::string encode(const HistoryEvent& v) { return encodeWith<schema::HistoryEvent>(v); }
std::string encode(const Client& v) { return encodeWith<schema::Client>(v); }
std::string encode(const Commande& v) { return encodeWith<schema::Commande>(v); }
std::string encode(const Produit& v) { return encodeWith<schema::Produit>(v); }

Lead decodeLead(std::string_view bytes) {
  return fromCapnp(StoredMessage(bytes).get<schema::Lead>());
}
HistoryEvent decodeHistoryEvent(std::string_view bytes) {
  return fromCapnp(StoredMessage(bytes).get<schema::HistoryEvent>());
}
Client decodeClient(std::string_view bytes) {
  return fromCapnp(StoredMessage(bytes).get<schema::Client>());
}
Commande decodeCommande(std::string_view bytes) {
  return fromCapnp(StoredMessage(bytes).get<schema::Commande>());
}
Produit decodeProduit(std::string_view bytes) {
  return fromCapnp(StoredMessage(bytes).get<schema::Produit>());
}

}  // namespace rdz
