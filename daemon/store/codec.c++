#include "daemon/store/codec.h"

#include <capnp/serialize-packed.h>
#include <kj/debug.h>
#include <kj/io.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "daemon/domain/history.h"
#include "daemon/store/keys.h"

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

// The first segment of every record encoded on this thread: a lead, a history event, a counter
// row fit in it, so an encode allocates nothing but its result. Zero, as MallocMessageBuilder
// wants it, and zeroed again by the builder once done.
constexpr size_t SCRATCH_WORDS = 256;
thread_local capnp::word scratch[SCRATCH_WORDS];

template <typename T, typename Value>
std::string encodeWith(const Value& value) {
  capnp::MallocMessageBuilder message(kj::arrayPtr(scratch, SCRATCH_WORDS));
  toCapnp(value, message.initRoot<T>());
  return encodeMessage(message);
}

uint32_t count32(int64_t n) {
  KJ_REQUIRE(n >= 0 && n <= int64_t{UINT32_MAX}, "counter out of range", n);
  return static_cast<uint32_t>(n);
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
  out.setRequeteIp(lead.requeteIp);
  out.setRequeteUserAgent(lead.requeteUserAgent);
  out.setRequetePageUrl(lead.requetePageUrl);
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
  lead.requeteIp = str(in.getRequeteIp());
  lead.requeteUserAgent = str(in.getRequeteUserAgent());
  lead.requetePageUrl = str(in.getRequetePageUrl());
  return lead;
}

void toCapnp(const HistoryEvent& e, schema::HistoryEvent::Builder out) {
  out.setAt(micros(e.at));
  if (e.legacy) {
    // As it was written: its name and text, no details.
    out.setEvent(e.legacyEvent);
    out.setDetail(e.legacyDetail);
    out.setLegacy();
    return;
  }
  switch (e.kind) {
    case HistoryKind::LEGACY:
      out.setEvent(e.legacyEvent);
      out.setDetail(e.legacyDetail);
      out.setLegacy();
      break;
    case HistoryKind::RECU:
      out.initRecu().setVia(e.via);
      break;
    case HistoryKind::DOUBLON:
      out.initDoublon().setLead(e.lead);
      break;
    case HistoryKind::OPPOSITION: {
      auto o = out.initOpposition();
      o.setList(toCapnp(e.entity));
      o.setRun(e.run);
      break;
    }
    case HistoryKind::PROBLEMES:
      setTexts(out.initProblemes(e.problemes.size()), e.problemes);
      break;
    case HistoryKind::STATUT: {
      auto s = out.initStatut();
      s.setStatut(toCapnp(e.statut));
      s.setRun(e.run);
      break;
    }
    case HistoryKind::LIVRAISON: {
      auto l = out.initLivraison();
      l.setDelivery(e.delivery);
      l.setCommande(e.commande);
      l.setClient(e.client);
      l.setEntity(toCapnp(e.entity));
      l.setPass(static_cast<schema::PassKind>(e.pass));
      l.setBatch(e.batch);
      l.setRun(e.run);
      break;
    }
    case HistoryKind::DOUBLON_EVITE: {
      auto d = out.initDoublonEvite();
      d.setClient(e.client);
      d.setCommande(e.commande);
      d.setRun(e.run);
      d.setEarlier(micros(e.time));
      break;
    }
    case HistoryKind::ENVOI: {
      auto s = out.initEnvoi();
      s.setBatch(e.batch);
      s.setClient(e.client);
      break;
    }
    case HistoryKind::REJET: {
      auto r = out.initRejet();
      r.setReason(e.reason);
      r.setAt(micros(e.time));
      r.setDelivery(e.delivery);
      r.setCommande(e.commande);
      r.setClient(e.client);
      r.setRun(e.run);
      r.setCredit(e.credit);
      break;
    }
    case HistoryKind::EFFACEMENT:
      out.setEffacement();
      break;
    case HistoryKind::RETRAIT_LOT: {
      auto r = out.initRetraitLot();
      r.setDelivery(e.delivery);
      r.setBatch(e.batch);
      r.setCommande(e.commande);
      r.setCredit(e.credit);
      break;
    }
    case HistoryKind::TRANSMIS: {
      auto t = out.initTransmis();
      t.setAccepted(micros(e.time));
      t.setVerdict(static_cast<schema::HistoryEvent::Transmis::Verdict>(e.gatewayTime));
      t.setSpooled(e.spooled);
      break;
    }
    case HistoryKind::PREUVE: {
      auto p = out.initPreuve();
      for (auto [values, to] : {std::pair{&e.form, p.initForm()},
                                std::pair{&e.request, p.initRequest()}}) {
        to.setIp(values->ip);
        to.setUserAgent(values->userAgent);
        to.setPageUrl(values->pageUrl);
      }
      break;
    }
  }
}

HistoryEvent fromCapnp(schema::HistoryEvent::Reader in) {
  const Timestamp at(Duration(in.getAt()));
  HistoryEvent e;
  e.at = at;
  using W = schema::HistoryEvent::Which;
  switch (in.which()) {
    case W::LEGACY:
      return legacyHistoryEvent(at, str(in.getEvent()), str(in.getDetail()));
    case W::RECU:
      e.kind = HistoryKind::RECU;
      e.via = str(in.getRecu().getVia());
      break;
    case W::DOUBLON:
      e.kind = HistoryKind::DOUBLON;
      e.lead = str(in.getDoublon().getLead());
      break;
    case W::OPPOSITION:
      e.kind = HistoryKind::OPPOSITION;
      e.entity = fromCapnp(in.getOpposition().getList());
      e.run = str(in.getOpposition().getRun());
      break;
    case W::PROBLEMES:
      e.kind = HistoryKind::PROBLEMES;
      e.problemes = texts(in.getProblemes());
      break;
    case W::STATUT:
      e.kind = HistoryKind::STATUT;
      e.statut = fromCapnp(in.getStatut().getStatut());
      e.run = str(in.getStatut().getRun());
      break;
    case W::LIVRAISON: {
      auto l = in.getLivraison();
      e.kind = HistoryKind::LIVRAISON;
      e.delivery = str(l.getDelivery());
      e.commande = str(l.getCommande());
      e.client = str(l.getClient());
      e.entity = fromCapnp(l.getEntity());
      e.pass = static_cast<PassKind>(l.getPass());
      e.batch = str(l.getBatch());
      e.run = str(l.getRun());
      break;
    }
    case W::DOUBLON_EVITE: {
      auto d = in.getDoublonEvite();
      e.kind = HistoryKind::DOUBLON_EVITE;
      e.client = str(d.getClient());
      e.commande = str(d.getCommande());
      e.run = str(d.getRun());
      e.time = optionalTime(d.getEarlier());
      break;
    }
    case W::ENVOI:
      e.kind = HistoryKind::ENVOI;
      e.batch = str(in.getEnvoi().getBatch());
      e.client = str(in.getEnvoi().getClient());
      break;
    case W::REJET: {
      auto r = in.getRejet();
      e.kind = HistoryKind::REJET;
      e.reason = str(r.getReason());
      e.time = optionalTime(r.getAt());
      e.delivery = str(r.getDelivery());
      e.commande = str(r.getCommande());
      e.client = str(r.getClient());
      e.run = str(r.getRun());
      e.credit = str(r.getCredit());
      break;
    }
    case W::EFFACEMENT:
      e.kind = HistoryKind::EFFACEMENT;
      break;
    case W::RETRAIT_LOT: {
      auto r = in.getRetraitLot();
      e.kind = HistoryKind::RETRAIT_LOT;
      e.delivery = str(r.getDelivery());
      e.batch = str(r.getBatch());
      e.commande = str(r.getCommande());
      e.credit = str(r.getCredit());
      break;
    }
    case W::TRANSMIS: {
      auto t = in.getTransmis();
      e.kind = HistoryKind::TRANSMIS;
      e.time = optionalTime(t.getAccepted());
      e.gatewayTime = static_cast<GatewayTime>(t.getVerdict());
      e.spooled = t.getSpooled();
      break;
    }
    case W::PREUVE: {
      auto p = in.getPreuve();
      e.kind = HistoryKind::PREUVE;
      for (auto [from, values] : {std::pair{p.getForm(), &e.form},
                                  std::pair{p.getRequest(), &e.request}}) {
        values->ip = str(from.getIp());
        values->userAgent = str(from.getUserAgent());
        values->pageUrl = str(from.getPageUrl());
      }
      break;
    }
    default:
      // A kind written by a newer rdzd: shown by its name and text, as a legacy record.
      return legacyHistoryEvent(at, str(in.getEvent()), str(in.getDetail()));
  }
  return e;
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
  out.setApiConsent(client.apiConsent);
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
  client.apiConsent = in.getApiConsent();
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

void toCapnp(const Delivery& d, schema::Delivery::Builder out) {
  out.setId(d.id);
  out.setLeadEntity(toCapnp(d.leadEntity));
  out.setEntity(toCapnp(d.entity));
  out.setLead(d.lead);
  out.setCommande(d.commande);
  out.setClient(d.client);
  out.setRun(d.run);
  out.setPass(static_cast<schema::PassKind>(d.pass));
  out.setAt(micros(d.at));
  out.setBatch(d.batch);
  out.setRejet(d.rejet);
  out.setRejeteLe(micros(d.rejeteLe));
}

Delivery fromCapnp(schema::Delivery::Reader in) {
  Delivery d;
  d.id = str(in.getId());
  d.leadEntity = fromCapnp(in.getLeadEntity());
  d.entity = fromCapnp(in.getEntity());
  d.lead = str(in.getLead());
  d.commande = str(in.getCommande());
  d.client = str(in.getClient());
  d.run = str(in.getRun());
  d.pass = static_cast<PassKind>(in.getPass());
  d.at = Timestamp(Duration(in.getAt()));
  d.batch = str(in.getBatch());
  d.rejet = str(in.getRejet());
  d.rejeteLe = optionalTime(in.getRejeteLe());
  return d;
}

void toCapnp(const Batch& b, schema::Batch::Builder out) {
  out.setId(b.id);
  out.setEntity(toCapnp(b.entity));
  out.setClient(b.client);
  out.setRun(b.run);
  out.setStatus(static_cast<schema::BatchStatus>(b.status));
  setTexts(out.initDeliveries(b.deliveries.size()), b.deliveries);
  out.setAttempts(b.attempts);
  out.setFailures(b.failures);
  out.setNextAttempt(micros(b.nextAttempt));
  out.setLastError(b.lastError);
  out.setSentAt(micros(b.sentAt));
  setTexts(out.initResponses(b.responses.size()), b.responses);
  auto parts = out.initPartsAccepted(b.partsAccepted.size());
  for (size_t i = 0; i < b.partsAccepted.size(); ++i) parts.set(i, b.partsAccepted[i]);
}

Batch fromCapnp(schema::Batch::Reader in) {
  Batch b;
  b.id = str(in.getId());
  b.entity = fromCapnp(in.getEntity());
  b.client = str(in.getClient());
  b.run = str(in.getRun());
  b.status = static_cast<BatchStatus>(in.getStatus());
  b.deliveries = texts(in.getDeliveries());
  b.attempts = in.getAttempts();
  b.failures = in.getFailures();
  b.nextAttempt = optionalTime(in.getNextAttempt());
  b.lastError = str(in.getLastError());
  b.sentAt = optionalTime(in.getSentAt());
  b.responses = texts(in.getResponses());
  for (uint32_t part : in.getPartsAccepted()) b.partsAccepted.push_back(part);
  return b;
}

void toCapnp(const RunRecord& r, schema::RunSummary::Builder out) {
  out.setId(r.id);
  out.setDate(r.date);
  if (r.entity) {
    out.initEntity().setOne(toCapnp(*r.entity));
  } else {
    out.initEntity().setAll();
  }
  out.setReference(micros(r.reference));
  out.setStatus(r.status);
  out.setAged(r.aged);
  out.setAssigned(r.assigned);
  out.setDoublonsEvites(r.doublonsEvites);
  setTexts(out.initBatches(r.batches.size()), r.batches);
  auto counts = out.initByEntity(r.byEntity.size());
  size_t i = 0;
  for (auto& [entity, c] : r.byEntity) {
    counts[i].setEntity(toCapnp(entity));
    counts[i].setAged(c.aged);
    counts[i].setAssigned(c.assigned);
    counts[i].setDoublonsEvites(c.doublonsEvites);
    ++i;
  }
}

RunRecord fromCapnp(schema::RunSummary::Reader in) {
  RunRecord r;
  r.id = str(in.getId());
  r.date = str(in.getDate());
  if (in.getEntity().isOne()) r.entity = fromCapnp(in.getEntity().getOne());
  r.reference = Timestamp(Duration(in.getReference()));
  r.status = str(in.getStatus());
  r.aged = in.getAged();
  r.assigned = in.getAssigned();
  r.doublonsEvites = in.getDoublonsEvites();
  for (auto c : in.getByEntity()) {
    r.byEntity[fromCapnp(c.getEntity())] = {c.getAged(), c.getAssigned(), c.getDoublonsEvites()};
  }
  r.batches = texts(in.getBatches());
  return r;
}

namespace {

std::string joinedList(const std::vector<std::string>& values) {
  std::string out;
  for (auto& v : values) out += (out.empty() ? "" : ",") + v;
  return out;
}

std::vector<std::string> splitList(std::string_view text) {
  std::vector<std::string> out;
  size_t from = 0;
  while (from < text.size()) {
    size_t comma = text.find(',', from);
    if (comma == std::string_view::npos) comma = text.size();
    if (comma > from) out.emplace_back(text.substr(from, comma - from));
    from = comma + 1;
  }
  return out;
}

}  // namespace

void toCapnp(const RunTrace& t, schema::RunTrace::Builder out) {
  out.setRun(t.run);
  out.setDate(t.params.date);
  out.setReference(micros(t.params.reference));
  if (t.params.onlyEntity) {
    out.initEntity().setOne(toCapnp(*t.params.onlyEntity));
  } else {
    out.initEntity().setAll();
  }
  out.setCommittedAt(micros(t.committedAt));
  out.setFreshWindowUs(t.params.freshWindow.count());
  out.setLbReentryUs(t.params.lbReentry.count());
  out.setDedupWindowUs(t.params.dedupWindow.count());
  auto list = out.initCommandes(t.commandes.size());
  for (size_t i = 0; i < t.commandes.size(); ++i) {
    const CommandeState& s = t.commandes[i].state;
    const Commande& c = s.commande;
    auto o = list[i];
    o.setId(c.id);
    o.setEntity(toCapnp(c.entity));
    o.setClient(c.client);
    o.setProduit(c.produit);
    o.setDepartements(joinedList(c.departements));
    o.setJours(joinedList(c.jours));
    o.setDebut(c.debut);
    o.setFin(c.fin);
    o.setQuotaSemaine(c.quotaSemaine);
    o.setQuotaJour(c.quotaJour);
    o.setPriorite(c.priorite);
    o.setLbMaxPct(c.lbMaxPct);
    o.setFallback(c.fallback);
    o.setActif(c.actif);
    o.setClientActif(s.clientActif);
    o.setDeliveredThisWeek(s.deliveredThisWeek);
    o.setLbDeliveredThisWeek(s.lbDeliveredThisWeek);
    o.setDeliveredToday(s.deliveredToday);
    o.setReplacementsOwed(s.replacementsOwed);
    o.setReplacementsServedThisWeek(s.replacementsServedThisWeek);
    const auto& closures = t.commandes[i].closures;
    auto cl = o.initClosures(closures.size());
    for (size_t j = 0; j < closures.size(); ++j) {
      cl[j].setPass(static_cast<schema::PassKind>(closures[j].pass));
      cl[j].setWhy(static_cast<schema::Closure::Full>(closures[j].why.why));
      cl[j].setCount(closures[j].why.count);
      cl[j].setLimit(closures[j].why.limit);
      if (!closures[j].byLead.empty()) {
        cl[j].setByLead(closures[j].byLead);
        cl[j].setByRecuLe(micros(closures[j].byRecuLe));
      }
    }
  }
}

RunTrace fromCapnp(schema::RunTrace::Reader in) {
  RunTrace t;
  t.run = str(in.getRun());
  t.params.date = str(in.getDate());
  t.params.reference = Timestamp(Duration(in.getReference()));
  if (in.getEntity().isOne()) t.params.onlyEntity = fromCapnp(in.getEntity().getOne());
  t.committedAt = optionalTime(in.getCommittedAt());
  t.params.freshWindow = Duration(in.getFreshWindowUs());
  t.params.lbReentry = Duration(in.getLbReentryUs());
  t.params.dedupWindow = Duration(in.getDedupWindowUs());
  t.commandes.reserve(in.getCommandes().size());
  for (auto o : in.getCommandes()) {
    CommandeTrace ct;
    Commande& c = ct.state.commande;
    c.id = str(o.getId());
    c.entity = fromCapnp(o.getEntity());
    c.client = str(o.getClient());
    c.produit = str(o.getProduit());
    c.departements = splitList(str(o.getDepartements()));
    c.jours = splitList(str(o.getJours()));
    c.debut = str(o.getDebut());
    c.fin = str(o.getFin());
    c.quotaSemaine = o.getQuotaSemaine();
    c.quotaJour = o.getQuotaJour();
    c.priorite = o.getPriorite();
    c.lbMaxPct = o.getLbMaxPct();
    c.fallback = o.getFallback();
    c.actif = o.getActif();
    ct.state.clientActif = o.getClientActif();
    ct.state.deliveredThisWeek = o.getDeliveredThisWeek();
    ct.state.lbDeliveredThisWeek = o.getLbDeliveredThisWeek();
    ct.state.deliveredToday = o.getDeliveredToday();
    ct.state.replacementsOwed = o.getReplacementsOwed();
    ct.state.replacementsServedThisWeek = o.getReplacementsServedThisWeek();
    for (auto cl : o.getClosures()) {
      CommandeClosure closure;
      closure.pass = static_cast<PassKind>(cl.getPass());
      closure.why = {static_cast<Full>(cl.getWhy()), cl.getCount(), cl.getLimit()};
      closure.byLead = str(cl.getByLead());
      closure.byRecuLe = Timestamp(Duration(cl.getByRecuLe()));
      ct.closures.push_back(std::move(closure));
    }
    t.commandes.push_back(std::move(ct));
  }
  return t;
}

// The domain's enums are the schema's, value for value.
static_assert(static_cast<int>(Reason::HORS_RUN) ==
              static_cast<int>(schema::Explanation::Raison::Code::HORS_RUN));
static_assert(static_cast<int>(Reason::DEVANCE) ==
              static_cast<int>(schema::Explanation::Raison::Code::DEVANCE));
static_assert(static_cast<int>(Full::LB_MAX) == static_cast<int>(schema::Closure::Full::LB_MAX));
static_assert(static_cast<int>(GatewayTime::TOO_OLD) ==
              static_cast<int>(schema::HistoryEvent::Transmis::Verdict::TOO_OLD));
static_assert(static_cast<int>(PassKind::LB_FALLBACK) ==
              static_cast<int>(schema::PassKind::LB_FALLBACK));

void toCapnp(const Explanation& x, schema::Explanation::Builder out) {
  out.setLead(x.lead);
  out.setDate(x.date);
  out.setResultat(x.delivered ? schema::Explanation::Resultat::LIVRE
                              : schema::Explanation::Resultat::NON_LIVRE);
  out.setCommande(x.commande);
  auto list = out.initRaisons(x.raisons.size());
  for (size_t i = 0; i < x.raisons.size(); ++i) {
    const ExplainLine& r = x.raisons[i];
    list[i].setPasse(r.pass ? std::string(passName(*r.pass)) : std::string());
    list[i].setCommande(r.commande);
    list[i].setClient(r.client);
    list[i].setRaison(static_cast<schema::Explanation::Raison::Code>(r.reason));
    list[i].setDetail(r.detail);
  }
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

void toCapnp(const User& u, schema::User::Builder out) {
  out.setName(u.name);
  out.setRole(static_cast<schema::Role>(u.role));
  if (u.entity) {
    out.initEntity().setOne(toCapnp(*u.entity));
  } else {
    out.initEntity().setAll();
  }
  out.setActif(u.actif);
  out.setCreeLe(micros(u.creeLe));
}

User fromCapnp(schema::User::Reader in) {
  User u;
  u.name = str(in.getName());
  switch (in.getRole()) {
    case schema::Role::ADMIN: u.role = Role::ADMIN; break;
    case schema::Role::VIEWER: u.role = Role::VIEWER; break;
    default: KJ_FAIL_REQUIRE("a user's role is admin or viewer");
  }
  if (in.getEntity().isOne()) u.entity = fromCapnp(in.getEntity().getOne());
  u.actif = in.getActif();
  u.creeLe = optionalTime(in.getCreeLe());
  return u;
}

namespace {
std::string bytesOf(capnp::Data::Reader d) {
  return std::string(reinterpret_cast<const char*>(d.begin()), d.size());
}
capnp::Data::Reader dataOf(const std::string& s) {
  return capnp::Data::Reader(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}
}  // namespace

std::string encode(const User& u) {
  capnp::MallocMessageBuilder message(128);
  auto out = message.initRoot<schema::StoredUser>();
  toCapnp(u, out.initUser());
  out.setSalt(dataOf(u.password.salt));
  out.setScryptN(u.password.n);
  out.setScryptR(u.password.r);
  out.setScryptP(u.password.p);
  out.setHash(dataOf(u.password.hash));
  return encodeMessage(message);
}

User decodeUser(std::string_view bytes) {
  StoredMessage message(bytes);
  auto in = message.get<schema::StoredUser>();
  User u = fromCapnp(in.getUser());
  u.password.salt = bytesOf(in.getSalt());
  u.password.n = in.getScryptN();
  u.password.r = in.getScryptR();
  u.password.p = in.getScryptP();
  u.password.hash = bytesOf(in.getHash());
  return u;
}

void toCapnp(const DayCounters& c, schema::StatsDay::Builder out) {
  out.setRecus(count32(c.recus));
  auto invalides = out.initInvalides(c.invalides.size());
  size_t i = 0;
  for (auto& [code, n] : c.invalides) {
    invalides[i].setCode(code);
    invalides[i].setCount(count32(n));
    ++i;
  }
  out.setLivresFresh(count32(c.livresFresh));
  out.setLivresLb(count32(c.livresLb));
  out.setFallbackEntrants(count32(c.fallbackEntrants));
  out.setFallbackSortants(count32(c.fallbackSortants));
  out.setDoublonsEvites(count32(c.doublonsEvites));
  out.setRejetes(count32(c.rejetes));
  out.setEffaces(count32(c.effaces));
  out.setStockLb(c.stockLb ? int64_t{count32(*c.stockLb)} : int64_t{-1});
  out.setFreshInvendus(c.freshInvendus ? int64_t{count32(*c.freshInvendus)} : int64_t{-1});
}

DayCounters fromCapnp(schema::StatsDay::Reader in) {
  DayCounters c;
  c.recus = in.getRecus();
  for (auto p : in.getInvalides()) c.invalides[str(p.getCode())] = p.getCount();
  c.livresFresh = in.getLivresFresh();
  c.livresLb = in.getLivresLb();
  c.fallbackEntrants = in.getFallbackEntrants();
  c.fallbackSortants = in.getFallbackSortants();
  c.doublonsEvites = in.getDoublonsEvites();
  c.rejetes = in.getRejetes();
  c.effaces = in.getEffaces();
  if (in.getStockLb() >= 0) c.stockLb = in.getStockLb();
  if (in.getFreshInvendus() >= 0) c.freshInvendus = in.getFreshInvendus();
  return c;
}

void toCapnp(const RunStats& run, schema::RunStats::Builder out) {
  out.setStockLb(run.stockLb ? int64_t{count32(*run.stockLb)} : int64_t{-1});
  out.setFreshInvendus(run.freshInvendus ? int64_t{count32(*run.freshInvendus)} : int64_t{-1});
  auto doublons = out.initDoublons(run.doublons.size());
  for (size_t i = 0; i < run.doublons.size(); ++i) {
    doublons[i].setProduit(run.doublons[i].produit);
    doublons[i].setClient(run.doublons[i].client);
    doublons[i].setCount(count32(run.doublons[i].count));
  }
}

RunStats fromCapnp(schema::RunStats::Reader in) {
  RunStats run;
  if (in.getStockLb() >= 0) run.stockLb = in.getStockLb();
  if (in.getFreshInvendus() >= 0) run.freshInvendus = in.getFreshInvendus();
  for (auto d : in.getDoublons()) {
    run.doublons.push_back({str(d.getProduit()), str(d.getClient()), d.getCount()});
  }
  return run;
}

void toCapnp(const AuditReport& report, schema::AuditReport::Builder out) {
  auto count = [](uint64_t n) {
    return static_cast<uint32_t>(std::min<uint64_t>(n, std::numeric_limits<uint32_t>::max()));
  };
  out.setOk(report.ok());
  auto checked = out.initChecked();
  checked.setLeads(count(report.checked.leads));
  checked.setIndexEntries(count(report.checked.indexEntries));
  checked.setDeliveries(count(report.checked.deliveries));
  checked.setBatches(count(report.checked.batches));
  checked.setQuotaCounters(count(report.checked.quotaCounters));
  auto violations = out.initViolations(report.violations.size());
  for (size_t i = 0; i < report.violations.size(); ++i) {
    violations[i].setInvariant(report.violations[i].invariant);
    violations[i].setKey(report.violations[i].key);
    violations[i].setDetail(report.violations[i].detail);
  }
  out.setViolationsTotal(count(report.violationsTotal));
}

std::string encodeMessage(capnp::MessageBuilder& message) {
  // Straight into the string (no intermediate flat array).
  std::string out(capnp::computeSerializedSizeInWords(message) * sizeof(capnp::word), '\0');
  kj::ArrayOutputStream stream(
      kj::arrayPtr(reinterpret_cast<kj::byte*>(out.data()), out.size()));
  capnp::writeMessage(stream, message);
  KJ_ASSERT(stream.getArray().size() == out.size());
  return out;
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
std::string encode(const Delivery& v) { return encodeWith<schema::Delivery>(v); }
std::string encode(const Batch& v) { return encodeWith<schema::Batch>(v); }
std::string encode(const RunRecord& v) { return encodeWith<schema::RunSummary>(v); }
std::string encode(const DayCounters& v) { return encodeWith<schema::StatsDay>(v); }
std::string encode(const RunStats& v) { return encodeWith<schema::RunStats>(v); }
std::string encode(const RunTrace& v) {
  // Packed (zero bytes run-length encoded): a trace is mostly small counters and null pointers,
  // and is written whole with every run.
  capnp::MallocMessageBuilder message(8192);
  toCapnp(v, message.initRoot<schema::RunTrace>());
  kj::VectorOutputStream out;
  capnp::writePackedMessage(out, message);
  auto bytes = out.getArray();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

Lead decodeLead(std::string_view bytes) {
  return fromCapnp(StoredMessage(bytes).get<schema::Lead>());
}
PoolLead decodePoolLead(std::string_view bytes) {
  StoredMessage message(bytes);  // owns the words `in` reads: it must outlive the reads
  auto in = message.get<schema::Lead>();
  PoolLead lead;
  lead.id = str(in.getId());
  lead.entity = fromCapnp(in.getEntity());
  lead.produit = str(in.getProduit());
  lead.departement = str(in.getDepartement());
  lead.telephoneE164 = str(in.getTelephoneE164());
  lead.recuLe = Timestamp(Duration(in.getRecuLe()));
  lead.statut = fromCapnp(in.getStatut());
  lead.derniereLivraison = optionalTime(in.getDerniereLivraison());
  return lead;
}
namespace {
constexpr char POOL_ENTRY_VERSION = 1;

void appendShort(std::string& out, std::string_view text) {
  KJ_REQUIRE(text.size() <= 255, "a pool entry's text is too long", text.size());
  out.push_back(static_cast<char>(text.size()));
  out.append(text);
}
std::string_view readShort(std::string_view& in) {
  KJ_REQUIRE(!in.empty(), "corrupt pool entry: truncated");
  size_t n = static_cast<uint8_t>(in[0]);
  KJ_REQUIRE(in.size() >= 1 + n, "corrupt pool entry: truncated");
  std::string_view text = in.substr(1, n);
  in.remove_prefix(1 + n);
  return text;
}
// A time as the keys write it (keys::appendTime), 8 bytes.
Timestamp readTimeFrom(std::string_view& in) {
  KJ_REQUIRE(in.size() >= 8, "corrupt pool entry: truncated");
  Timestamp t = keys::readTime(in.substr(0, 8));
  in.remove_prefix(8);
  return t;
}
}  // namespace

// version(1) recu_le(8) derniere_livraison(8; time 0: none), times as keys::appendTime writes
// them, then produit, departement, telephone as length(1) + bytes.
std::string encodePoolEntry(const PoolLead& lead) {
  std::string out;
  out.reserve(20 + lead.produit.size() + lead.departement.size() + lead.telephoneE164.size());
  out.push_back(POOL_ENTRY_VERSION);
  keys::appendTime(out, lead.recuLe);
  keys::appendTime(out, Timestamp(Duration(micros(lead.derniereLivraison))));
  appendShort(out, lead.produit);
  appendShort(out, lead.departement);
  appendShort(out, lead.telephoneE164);
  return out;
}

void decodePoolEntry(std::string_view bytes, PoolLead& lead) {
  KJ_REQUIRE(!bytes.empty() && bytes[0] == POOL_ENTRY_VERSION, "corrupt pool entry: no version");
  bytes.remove_prefix(1);
  lead.recuLe = readTimeFrom(bytes);
  lead.derniereLivraison = optionalTime(micros(readTimeFrom(bytes)));
  lead.produit = readShort(bytes);
  lead.departement = readShort(bytes);
  lead.telephoneE164 = readShort(bytes);
  KJ_REQUIRE(bytes.empty(), "corrupt pool entry: trailing bytes");
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
Delivery decodeDelivery(std::string_view bytes) {
  return fromCapnp(StoredMessage(bytes).get<schema::Delivery>());
}
Batch decodeBatch(std::string_view bytes) {
  return fromCapnp(StoredMessage(bytes).get<schema::Batch>());
}
RunRecord decodeRun(std::string_view bytes) {
  return fromCapnp(StoredMessage(bytes).get<schema::RunSummary>());
}
RunTrace decodeRunTrace(std::string_view bytes) {
  kj::ArrayInputStream in(kj::arrayPtr(reinterpret_cast<const kj::byte*>(bytes.data()),
                                       bytes.size()));
  // A trace has an entry per commande: more than the default traversal limit allows for 100,000.
  capnp::ReaderOptions options;
  options.traversalLimitInWords = uint64_t{1} << 30;
  capnp::PackedMessageReader reader(in, options);
  return fromCapnp(reader.getRoot<schema::RunTrace>());
}

DayCounters decodeDayCounters(std::string_view bytes) {
  return fromCapnp(StoredMessage(bytes).get<schema::StatsDay>());
}
RunStats decodeRunStats(std::string_view bytes) {
  return fromCapnp(StoredMessage(bytes).get<schema::RunStats>());
}

}  // namespace rdz
