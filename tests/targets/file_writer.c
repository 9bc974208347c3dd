/* file_writer PATH [w|a|r] [verify]: writes "line NN\n" 40 times to PATH,
 * one every 50 ms (~2 s), through one fd opened O_RDWR|O_CREAT|O_TRUNC ("w",
 * the default) or O_WRONLY|O_CREAT|O_APPEND ("a"); "r" only holds PATH open
 * O_RDONLY as long, writing nothing. Then prints "done"; with
 * "verify" it first reads the file back through the same fd and prints its
 * length and a hash: what the process itself sees in its file. */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void print_contents(int fd) {
  char buf[4096];
  uint64_t h = 0xcbf29ce484222325ull;
  long total = 0;
  ssize_t n;
  lseek(fd, 0, SEEK_SET);
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n; ++i)
      h = (h ^ (unsigned char)buf[i]) * 0x100000001b3ull;
    total += n;
  }
  printf("file has %ld bytes, hash %016llx\n", total, (unsigned long long)h);
}

int main(int argc, char **argv) {
  if (argc < 2)
    return 2;
  int append = argc > 2 && strcmp(argv[2], "a") == 0;
  int hold = argc > 2 && strcmp(argv[2], "r") == 0;
  int verify = argc > 3 && strcmp(argv[3], "verify") == 0;
  int fd = open(argv[1],
                hold     ? O_RDONLY
                : append ? O_WRONLY | O_CREAT | O_APPEND
                         : O_RDWR | O_CREAT | O_TRUNC,
                0644);
  if (fd < 0) {
    perror(argv[1]);
    return 1;
  }
  for (int i = 0; i < 40; ++i) {
    char line[16];
    int len = snprintf(line, sizeof line, "line %02d\n", i);
    if (!hold && write(fd, line, (size_t)len) != len) {
      perror("write");
      return 1;
    }
    struct timespec t = {0, 50000000};
    nanosleep(&t, NULL);
  }
  if (verify)
    print_contents(fd);
  printf("done\n");
  return 0;
}
