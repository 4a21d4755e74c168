// A storage fault injector for the real rdzd (and rdz-gateway), loaded with LD_PRELOAD in tests
// and fault campaigns only; never installed.
//
// RDZ_FAULT_RULES names a rules file, read at every intercepted call (it is tiny). Each line:
//     <call> <path-substring> <count> [errno]
// <call> is write, pwrite, fsync or fdatasync; the rule applies to calls on regular files whose
// path contains <path-substring> ("*" matches every file). The next <count> matching calls fail
// with errno (EIO by default; ENOSPC, EFBIG and EDQUOT are also understood) without doing
// anything; count -1 means until the rule is removed. The file is rewritten with the counts left,
// so a test sees whether its fault fired.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_RULES 16
#define MAX_FILE 4096

struct Rule {
  char call[16];
  char path[256];
  long count;
  int error;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static __thread int inside = 0;  // our own I/O is never intercepted

static int errnoOf(const char* name) {
  if (strcmp(name, "ENOSPC") == 0) return ENOSPC;
  if (strcmp(name, "EFBIG") == 0) return EFBIG;
  if (strcmp(name, "EDQUOT") == 0) return EDQUOT;
  return EIO;
}

static int loadRules(const char* file, struct Rule* rules) {
  int fd = (int)syscall(SYS_openat, AT_FDCWD, file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char text[MAX_FILE];
  long n = syscall(SYS_read, fd, text, sizeof(text) - 1);
  syscall(SYS_close, fd);
  if (n <= 0) return 0;
  text[n] = 0;
  int count = 0;
  char* save = NULL;
  for (char* line = strtok_r(text, "\n", &save); line && count < MAX_RULES;
       line = strtok_r(NULL, "\n", &save)) {
    struct Rule r;
    char err[16] = "EIO";
    if (sscanf(line, "%15s %255s %ld %15s", r.call, r.path, &r.count, err) >= 3) {
      r.error = errnoOf(err);
      rules[count++] = r;
    }
  }
  return count;
}

static void saveRules(const char* file, struct Rule* rules, int count) {
  char text[MAX_FILE];
  size_t used = 0;
  for (int i = 0; i < count; ++i) {
    const char* name = rules[i].error == ENOSPC  ? "ENOSPC"
                       : rules[i].error == EFBIG ? "EFBIG"
                       : rules[i].error == EDQUOT ? "EDQUOT"
                                                  : "EIO";
    int n = snprintf(text + used, sizeof(text) - used, "%s %s %ld %s\n", rules[i].call,
                     rules[i].path, rules[i].count, name);
    if (n < 0 || (size_t)n >= sizeof(text) - used) break;
    used += (size_t)n;
  }
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof(tmp), "%s.shim", file);
  int fd = (int)syscall(SYS_openat, AT_FDCWD, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;
  syscall(SYS_write, fd, text, used);
  syscall(SYS_close, fd);
  syscall(SYS_rename, tmp, file);
}

// 0: let the call through; otherwise the errno to fail it with.
static int injected(const char* call, int fd) {
  const char* file = getenv("RDZ_FAULT_RULES");
  if (!file || inside) return 0;
  inside = 1;
  int result = 0;
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    long n = syscall(SYS_readlinkat, AT_FDCWD, link, path, sizeof(path) - 1);
    if (n > 0) {
      path[n] = 0;
      pthread_mutex_lock(&lock);
      struct Rule rules[MAX_RULES];
      int count = loadRules(file, rules);
      for (int i = 0; i < count; ++i) {
        struct Rule* r = &rules[i];
        if (strcmp(r->call, call) != 0 || r->count == 0) continue;
        if (strcmp(r->path, "*") != 0 && !strstr(path, r->path)) continue;
        result = r->error;
        if (r->count > 0) {
          r->count -= 1;
          saveRules(file, rules, count);
        }
        break;
      }
      pthread_mutex_unlock(&lock);
    }
  }
  inside = 0;
  return result;
}

#define REAL(name, type) ((type)dlsym(RTLD_NEXT, name))

ssize_t write(int fd, const void* buf, size_t count) {
  int e = injected("write", fd);
  if (e) {
    errno = e;
    return -1;
  }
  return REAL("write", ssize_t(*)(int, const void*, size_t))(fd, buf, count);
}

ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset) {
  int e = injected("pwrite", fd);
  if (e) {
    errno = e;
    return -1;
  }
  return REAL("pwrite", ssize_t(*)(int, const void*, size_t, off_t))(fd, buf, count, offset);
}

ssize_t pwrite64(int fd, const void* buf, size_t count, off_t offset) {
  int e = injected("pwrite", fd);
  if (e) {
    errno = e;
    return -1;
  }
  return REAL("pwrite64", ssize_t(*)(int, const void*, size_t, off_t))(fd, buf, count, offset);
}

int fsync(int fd) {
  int e = injected("fsync", fd);
  if (e) {
    errno = e;
    return -1;
  }
  return REAL("fsync", int (*)(int))(fd);
}

int fdatasync(int fd) {
  int e = injected("fdatasync", fd);
  if (e) {
    errno = e;
    return -1;
  }
  return REAL("fdatasync", int (*)(int))(fd);
}
