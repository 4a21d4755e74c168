#include "daemon/domain/delivery-format.h"

#include <map>
#include <set>

#include <kj/debug.h>

#include "daemon/domain/csv.h"
#include "daemon/domain/validation.h"

namespace rdz {

namespace {

constexpr char SEPARATOR = ';';

std::string ouiNon(bool b) { return b ? "oui" : "non"; }

// French national digits of the normalised number. A lead without a valid number is never
// delivered (a blocking problem), but should one reach a CSV its number goes as submitted rather
// than as an empty cell.
std::string telephoneCell(const Lead& lead) {
  if (!lead.telephoneE164.empty()) {
    std::string digits = nationalDigits(lead.telephoneE164);
    if (!digits.empty()) return digits;
  }
  return lead.telephone;
}

std::string proprietaireCell(TriState t) {
  switch (t) {
    case TriState::OUI:
      return "oui";
    case TriState::NON:
      return "non";
    case TriState::UNKNOWN:
      return "";
  }
  KJ_UNREACHABLE;
}

std::string typeLogementCell(TypeLogement t) {
  switch (t) {
    case TypeLogement::MAISON:
      return "maison";
    case TypeLogement::APPARTEMENT:
      return "appartement";
    case TypeLogement::UNKNOWN:
      return "";
  }
  KJ_UNREACHABLE;
}

// A file name travels through mail clients and file systems: the characters that are path
// separators or forbidden on Windows, and control characters, become '-'.
std::string fileNamePart(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    bool bad = static_cast<unsigned char>(c) < 0x20 || c == 0x7f ||
               std::string_view("/\\:*?\"<>|").find(c) != std::string_view::npos;
    out.push_back(bad ? '-' : c);
  }
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> csvColumns(Entity receiving, const Lead& lead) {
  std::vector<std::pair<std::string, std::string>> columns = {
      {"nom", lead.nom},     {"prenom", lead.prenom},          {"telephone", telephoneCell(lead)},
      {"email", lead.email}, {"code_postal", lead.codePostal}, {"ville", lead.ville},
  };
  switch (receiving) {
    case Entity::ZR7:
      columns.emplace_back(
          "proprietaire_maison",
          ouiNon(lead.proprietaire == TriState::OUI && lead.typeLogement == TypeLogement::MAISON));
      return columns;
    case Entity::MDL:
      columns.emplace_back("proprietaire", proprietaireCell(lead.proprietaire));
      columns.emplace_back("type_logement", typeLogementCell(lead.typeLogement));
      return columns;
  }
  KJ_UNREACHABLE;
}

std::string renderCsv(Entity receiving, const std::vector<Lead>& leads) {
  std::string out(UTF8_BOM);
  CsvRow header;
  for (auto& column : csvColumns(receiving, Lead{})) header.push_back(column.first);
  out += formatCsvRow(header, SEPARATOR);
  for (const Lead& lead : leads) {
    CsvRow row;
    for (auto& column : csvColumns(receiving, lead)) {
      row.push_back(spreadsheetSafe(std::move(column.second)));
    }
    out += formatCsvRow(row, SEPARATOR);
  }
  return out;
}

std::string attachmentName(Entity receiving, std::string_view client, std::string_view produit,
                           std::string_view date, bool lb, std::string_view commande) {
  std::string name(entityName(receiving));
  name += '_';
  name += fileNamePart(client);
  name += '_';
  name += fileNamePart(produit);
  name += '_';
  name += fileNamePart(date);
  if (!commande.empty()) {
    name += '_';
    name += fileNamePart(commande);
  }
  if (lb) name += "_LB";
  name += ".csv";
  return name;
}

std::vector<std::string> attachmentNames(Entity receiving, std::string_view client,
                                         std::string_view date,
                                         const std::vector<AttachmentPart>& parts) {
  std::map<std::string_view, std::set<std::string_view>> commandesOf;  // produit -> commandes
  for (auto& part : parts) commandesOf[part.produit].insert(part.commande);
  std::vector<std::string> names;
  names.reserve(parts.size());
  for (auto& part : parts) {
    bool shared = commandesOf[part.produit].size() > 1;
    names.push_back(attachmentName(receiving, client, part.produit, date, part.lb,
                                   shared ? std::string_view(part.commande) : std::string_view()));
  }
  return names;
}

std::string fillTemplate(std::string_view text, std::string_view client, std::string_view date,
                         size_t nb) {
  // One pass, so that a value holding "{date}" (a client named oddly) is not expanded again.
  std::string number = std::to_string(nb);
  const std::pair<std::string_view, std::string_view> placeholders[] = {
      {"{client}", client}, {"{date}", date}, {"{nb}", number}};
  std::string out;
  out.reserve(text.size() + 32);
  size_t i = 0;
  while (i < text.size()) {
    bool replaced = false;
    if (text[i] == '{') {
      for (auto& [key, value] : placeholders) {
        if (text.substr(i, key.size()) == key) {
          out += value;
          i += key.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out.push_back(text[i++]);
  }
  return out;
}

MailTemplates defaultTemplates(Entity e) {
  std::string name(entityName(e));
  MailTemplates t;
  t.subject = name + " — vos leads du {date} ({nb})";
  t.body =
      "Bonjour {client},\n"
      "\n"
      "Veuillez trouver ci-joint vos leads du {date} (nombre de leads : {nb}).\n"
      "\n"
      "Le fichier CSV s'ouvre directement dans Excel. Pour toute question, il vous suffit de "
      "répondre à ce message.\n"
      "\n"
      "Bien cordialement,\n"
      "L'équipe " +
      name + "\n";
  return t;
}

}  // namespace rdz
