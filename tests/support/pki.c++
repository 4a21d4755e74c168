#include "tests/support/pki.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstring>
#include <stdexcept>
#include <vector>

#include "tests/support/files.h"

extern char** environ;

namespace rdz::test {

namespace {

constexpr char OPENSSL[] = "/usr/bin/openssl";

// Runs openssl in `dir` (no shell); its output goes to DIR/openssl.log, quoted on failure.
void openssl(std::vector<std::string> args, const std::string& dir) {
  std::vector<std::string> argv = {OPENSSL};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  std::string log = dir + "/openssl.log";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid;
  int rc = posix_spawn(&pid, OPENSSL, &actions, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error(std::string("posix_spawn openssl: ") + strerror(rc));
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("openssl " + args.at(0) + " failed: " + readFile(log));
  }
}

}  // namespace

void makeCa(const std::string& dir, const std::string& name) {
  openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
           "-keyout", name + ".key", "-out", name + ".pem", "-days", "2", "-subj",
           "/CN=RDZ test " + name, "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
           "keyUsage=critical,keyCertSign,cRLSign"},
          dir);
}

void makeServerCert(const std::string& dir, const std::string& ca) {
  openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
           "server.key", "-out", "server.csr", "-subj", "/CN=rdz test server"},
          dir);
  writeFile(dir + "/server.ext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
            "basicConstraints=CA:FALSE\n"
            "extendedKeyUsage=serverAuth\n");
  openssl({"x509", "-req", "-in", "server.csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
           "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext"},
          dir);
}

}  // namespace rdz::test
