// rdzctl lead consent ID [--json]: a lead's consent certificate (SPEC §3.1), the proof a broker
// sends to a client who asks. The same members as the API delivery's "consentement" object
// (daemon/domain/consent.h).
#include "daemon/domain/consent.h"

#include <capnp/compat/json.h>
#include <capnp/message.h>

#include <map>

#include "client/command.h"

namespace rdz {

namespace {

std::string str(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

std::optional<Timestamp> timeOf(int64_t micros) {
  if (micros == 0) return std::nullopt;
  return Timestamp(Duration(micros));
}

// The fields of the proof, from the wire's lead.
Lead proofFields(schema::Lead::Reader in) {
  Lead lead;
  lead.id = str(in.getId());
  lead.entity = static_cast<Entity>(in.getEntity());
  lead.consentement = in.getConsentement();
  lead.consentementTexte = str(in.getConsentementTexte());
  lead.consentementLe = timeOf(in.getConsentementLe());
  lead.pageUrl = str(in.getPageUrl());
  lead.ip = str(in.getIp());
  lead.userAgent = str(in.getUserAgent());
  lead.recuLe = Timestamp(Duration(in.getRecuLe()));
  lead.requeteIp = str(in.getRequeteIp());
  lead.requeteUserAgent = str(in.getRequeteUserAgent());
  lead.requetePageUrl = str(in.getRequetePageUrl());
  lead.efface = in.getEfface();
  return lead;
}

const std::map<std::string, std::string>& labels() {
  static const std::map<std::string, std::string> table = {
      {"lead", "Lead"},
      {"entite", "Entité"},
      {"consentement", "Consentement donné"},
      {"consentement_texte", "Texte accepté"},
      {"consentement_le", "Date du consentement"},
      {"page_url", "Page du formulaire"},
      {"ip", "Adresse IP"},
      {"user_agent", "Navigateur (User-Agent)"},
      {"recu_le", "Reçu par RDZ le"},
      {"requete_ip", "Requête HTTP : adresse IP"},
      {"requete_user_agent", "Requête HTTP : User-Agent"},
      {"requete_page_url", "Requête HTTP : page (Referer)"},
      {"efface", "Effacé (RGPD)"},
  };
  return table;
}

// The certificate in French, one "label : value" line per element of the proof.
std::string consentCertificate(schema::Lead::Reader lead) {
  auto proof = consentProof(proofFields(lead));
  std::map<std::string, std::string> byName(proof.begin(), proof.end());
  std::string out = "Preuve de consentement\n";
  for (auto& [name, value] : proof) {
    // What the HTTP request said, when it says something the lead's values do not (the form sent
    // its own ip, user_agent or page_url).
    if (name.rfind("requete_", 0) == 0 && (value.empty() || value == byName[name.substr(8)])) {
      continue;
    }
    if (name == "efface" && value == "non") continue;
    out += labels().at(name) + " : " + (value.empty() ? "(non renseigné)" : value) + "\n";
  }
  if (lead.getEfface()) {
    out += "Les données personnelles de ce lead ont été effacées à la demande de la personne.\n";
  }
  return out;
}

// The proof as one JSON object (consentProof's names, every value a string), with a newline.
std::string consentJson(schema::Lead::Reader lead) {
  auto proof = consentProof(proofFields(lead));
  capnp::MallocMessageBuilder message;
  auto members = message.initRoot<capnp::JsonValue>().initObject(proof.size());
  for (size_t i = 0; i < proof.size(); ++i) {
    members[i].setName(proof[i].first);
    members[i].initValue().setString(proof[i].second);
  }
  auto text = rdzJson().encodeRaw(message.getRoot<capnp::JsonValue>().asReader());
  return std::string(text.cStr(), text.size()) + "\n";
}

int leadConsent(Command& cmd) {
  auto req = cmd.connection().viewer().getLeadRequest();
  req.setId(cmd.get("id"));
  auto resp = req.send().wait(cmd.wait());
  cmd.out() << (cmd.json() ? consentJson(resp.getLead()) : consentCertificate(resp.getLead()));
  return EXIT_OK;
}

}  // namespace

namespace commands {

CommandGroup consent() {
  return {
      {.noun = "lead",
       .verb = "consent",
       .usage = "lead consent ID",
       .about = "the lead's consent certificate, for a client who asks for the proof:\n"
                "text, time, page, IP, user agent, reception time, entity (and what the\n"
                "HTTP request said, for a lead from rdz-gateway)",
       .options =
           [](po::options_description& o) {
             o.add_options()("id", po::value<std::string>()->required(), "lead id");
           },
       .positional = {"id"},
       .run = leadConsent},
  };
}

}  // namespace commands
}  // namespace rdz
