// What clients receive (SPEC §6): CSV per entity, attachment names, email text from templates,
// the API JSON body. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "daemon/domain/types.h"

namespace rdz {

// The CSV of a batch part, in the RECEIVING client's entity format: UTF-8 BOM, ';', CRLF, header
// row, RFC 4180 quoting, oui/non booleans, phone in national digits; a lead's text is never a
// formula (spreadsheetSafe of csv.h).
//   ZR7: nom;prenom;telephone;email;code_postal;ville;proprietaire_maison
//   MDL: nom;prenom;telephone;email;code_postal;ville;proprietaire;type_logement
// (proprietaire_maison = oui iff proprietaire = oui and type_logement = maison; an unknown
// proprietaire or type_logement is an empty cell in MDL's format.)
std::string renderCsv(Entity receiving, const std::vector<Lead>& leads);

// The columns of the entity's format, as (name, value) for one lead; the API JSON uses these.
std::vector<std::pair<std::string, std::string>> csvColumns(Entity receiving, const Lead& lead);

// "{ENTITE}_{client}_{produit}_{AAAA-MM-JJ}.csv", or "…_LB.csv" for LB; with a `commande`,
// "…_{AAAA-MM-JJ}_{commande}.csv" and "…_{commande}_LB.csv".
std::string attachmentName(Entity receiving, std::string_view client, std::string_view produit,
                           std::string_view date, bool lb, std::string_view commande = {});

// One CSV file of a batch: a commande's fresh or LB leads.
struct AttachmentPart {
  std::string commande;
  std::string produit;
  bool lb = false;
};
// The names of a batch's files, in the order of `parts` (SPEC §6): the usual names, except that
// the files of commandes sharing a produit with another commande of the batch add the commande
// id, so no two attachments of one email share a name.
std::vector<std::string> attachmentNames(Entity receiving, std::string_view client,
                                         std::string_view date,
                                         const std::vector<AttachmentPart>& parts);

// Replaces {client}, {date} and {nb} in a template.
std::string fillTemplate(std::string_view text, std::string_view client, std::string_view date,
                         size_t nb);

// The default French templates of an entity.
struct MailTemplates {
  std::string subject;
  std::string body;
};
MailTemplates defaultTemplates(Entity e);

}  // namespace rdz
