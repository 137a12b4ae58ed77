/*
 * The pod sandbox's process, as Kubernetes' build/pause/linux/pause.c does it: hold
 * the pod's namespaces open by sleeping forever, reap any child that gets
 * re-parented to it (it is PID 1 of the pod when the PID namespace is shared), and
 * exit at once on SIGINT or SIGTERM so a pod stops without waiting for SIGKILL.
 * Built with gcc -static -Os: the image has nothing else in it.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define VERSION "underpin-local-1"

static void on_shutdown(int signo) {
  psignal(signo, "pause: shutting down, got signal");
  exit(0);
}

static void on_child(int signo) {
  (void)signo;
  /* Several children may have ended for one SIGCHLD: reap them all, never block. */
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

static int handle(int signo, void (*handler)(int), int flags) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = handler;
  action.sa_flags = flags;
  sigemptyset(&action.sa_mask);
  return sigaction(signo, &action, NULL);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-v") == 0) {
      printf("pause.c %s\n", VERSION);
      return 0;
    }
  }
  if (getpid() != 1) {
    /* Not an error: runtimes that do not share the PID namespace start it elsewhere. */
    fprintf(stderr, "pause: warning: not PID 1, children of other processes are not reaped here\n");
  }
  if (handle(SIGINT, on_shutdown, 0) < 0) return 1;
  if (handle(SIGTERM, on_shutdown, 0) < 0) return 2;
  if (handle(SIGCHLD, on_child, SA_NOCLDSTOP) < 0) return 3;
  for (;;) pause();
  fprintf(stderr, "pause: the endless loop ended\n");
  return 42;
}
