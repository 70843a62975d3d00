/* SPDX-License-Identifier: MIT */
/* The subcommands main() dispatches to.  Each returns the exit status. */
#ifndef FL_COMMANDS_H
#define FL_COMMANDS_H

int cmd_read(int argc, char **argv);
int cmd_capture(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_cleanup(int argc, char **argv);

#endif
