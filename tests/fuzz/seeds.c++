// Writes the binary seeds of two fuzz targets, from the real encoders; run once by hand, its output
// is checked in:
//   build-fuzz/tests/fuzz/fuzz-seeds tests/fuzz/corpus
// - corpus/rpc/: the exact bytes a real capnp client sends to rdzd (bootstrap, authenticate, then
//   pipelined calls on the session), captured off a kj two-way pipe;
// - corpus/spool/: segment files made of Spool::encode entries.
#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <fstream>
#include <functional>
#include <iostream>
#include <string>

#include "schema/rdz.capnp.h"
#include "tools/gateway/spool.h"

namespace {

using namespace rdz;

// What `send` makes the client write, before any answer.
std::string capture(
    kj::AsyncIoContext& io,
    const std::function<void(schema::Bootstrap::Client, kj::Vector<kj::Promise<void>>&)>& send) {
  auto pipe = kj::newTwoWayPipe();
  std::string bytes;
  {
    capnp::TwoPartyClient client(*pipe.ends[0]);
    kj::Vector<kj::Promise<void>> calls;
    send(client.bootstrap().castAs<schema::Bootstrap>(), calls);
    kj::byte buffer[65536];
    for (;;) {
      auto read = pipe.ends[1]->tryRead(buffer, 1, sizeof buffer);
      if (!read.poll(io.waitScope)) break;  // the client has nothing more to say
      size_t n = read.wait(io.waitScope);
      if (n == 0) break;
      bytes.append(reinterpret_cast<const char*>(buffer), n);
    }
  }
  return bytes;
}

void setFields(capnp::List<schema::Field>::Builder list,
               std::initializer_list<std::pair<const char*, const char*>> fields) {
  size_t i = 0;
  for (auto& [name, value] : fields) {
    list[i].setName(name);
    list[i].setValue(value);
    ++i;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz-seeds CORPUS_DIR\n";
    return 2;
  }
  std::string dir = std::string(argv[1]) + "/rpc";
  auto io = kj::setupAsyncIo();
  auto write = [&](const char* name, const std::string& bytes) {
    std::ofstream(dir + "/" + name, std::ios::binary) << bytes;
    std::cout << dir << "/" << name << ": " << bytes.size() << " bytes\n";
  };

  write("bootstrap-only", capture(io, [](schema::Bootstrap::Client, auto&) {}));
  write("authenticate-bad-token", capture(io, [](schema::Bootstrap::Client b, auto& calls) {
          auto req = b.authenticateRequest();
          req.setToken("not-a-token");
          calls.add(req.send().ignoreResult());
        }));
  write("authenticate-ingest", capture(io, [](schema::Bootstrap::Client b, auto& calls) {
          auto req = b.authenticateRequest();
          req.setToken("ingest-zr7-token");
          calls.add(req.send().ignoreResult());
        }));
  write("ingest-submit", capture(io, [](schema::Bootstrap::Client b, auto& calls) {
          auto req = b.authenticateRequest();
          req.setToken("ingest-zr7-token");
          auto session = req.send();
          auto submit = session.getSession().getIngest().submitRequest();
          setFields(submit.initFields(7), {{"produit", "PV"},
                                           {"nom", "Martin"},
                                           {"prenom", "Élodie"},
                                           {"telephone", "06 12 34 56 78"},
                                           {"code_postal", "33000"},
                                           {"consentement", "oui"},
                                           {"email", "e@exemple.fr"}});
          submit.setIdempotencyKey("seed-1");
          calls.add(submit.send().ignoreResult());
          calls.add(session.ignoreResult());
        }));
  write("viewer-find", capture(io, [](schema::Bootstrap::Client b, auto& calls) {
          auto req = b.authenticateRequest();
          req.setToken("viewer-token");
          auto session = req.send();
          auto find = session.getSession().getViewer().findLeadsRequest();
          find.setTelephone("0612345678");
          calls.add(find.send().ignoreResult());
          auto produits = session.getSession().getViewer().listProduitsRequest();
          calls.add(produits.send().ignoreResult());
          calls.add(session.ignoreResult());
        }));

  using gateway::Spool;
  using gateway::SpoolEntry;
  dir = std::string(argv[1]) + "/spool";
  SpoolEntry lead{Entity::ZR7,
                  "gw-0123456789abcdef0123456789abcdef",
                  1795000000000000,
                  {{"produit", "PV"},
                   {"nom", "Martin"},
                   {"prenom", "Élodie"},
                   {"telephone", "06 12 34 56 78"},
                   {"code_postal", "33000"},
                   {"consentement", "oui"},
                   {"email", "e@exemple.fr"}}};
  SpoolEntry mdl{
      Entity::MDL,
      "client-key-42",
      1795000001000000,
      {{"produit", "PAC"}, {"nom", "Dupont"}, {"ville", "Saint-Denis \xe2\x80\xaf"}, {"", ""}}};
  SpoolEntry empty{Entity::ZR7, "k", 0, {}};
  // Version 1 entries (written before the request's proof was kept): a spool may still hold them.
  for (SpoolEntry* e : {&lead, &mdl, &empty}) e->version = 1;
  write("v1-three-entries.seg", Spool::encode(lead) + Spool::encode(mdl) + Spool::encode(empty));
  for (SpoolEntry* e : {&lead, &mdl, &empty}) e->version = 2;
  lead.request = {"203.0.113.7", "Mozilla/5.0 (X11; Linux x86_64) Chrome/120",
                  "https://landing.example/pac?utm_source=ete", false};
  mdl.request = {"2001:db8::1", "", "https://landing.example", true};  // a honeypot caught it
  write("one-entry.seg", Spool::encode(lead));
  write("three-entries.seg", Spool::encode(lead) + Spool::encode(mdl) + Spool::encode(empty));
  std::string torn = Spool::encode(lead) + Spool::encode(mdl);
  torn.resize(torn.size() - 5);  // a write cut by a crash
  write("torn-last.seg", torn);
  std::string twelve;
  for (int i = 0; i < 12; ++i) twelve += Spool::encode(i % 2 ? mdl : empty);
  write("twelve-entries.seg", twelve);
  return 0;
}
