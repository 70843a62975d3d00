// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: configuration.  The first byte picks what the rest is:
 *   0: a YAML file for --config (config_load_yaml)
 *   1: one --set KEY=VALUE assignment (config_set)
 *   2: a command line for `read` (odd first byte: `capture`): arguments one a
 *      line, then an empty line and the YAML that any --config names
 *      (cli_parse, which loads the YAML and applies every --set on top)
 * The YAML is handed over as a memfd, so no path from the input is opened.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cmd/cli.h"
#include "core/config.h"

#define MAX_ARGS 64

static int yaml_fd = -1;
static char yaml_path[64];
static char config_eq[80];     /* "--config=" yaml_path */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	yaml_fd = memfd_create("fuzz_config.yaml", 0);
	if (yaml_fd < 0)
		abort();
	snprintf(yaml_path, sizeof(yaml_path), "/proc/self/fd/%d", yaml_fd);
	snprintf(config_eq, sizeof(config_eq), "--config=%s", yaml_path);
	/* cli_parse prints --help on stdout: keep the fuzzer's output readable. */
	if (!freopen("/dev/null", "w", stdout))
		abort();
	return 0;
}

/* The memfd now holds exactly `len` bytes of `text`. */
static void set_yaml(const uint8_t *text, size_t len)
{
	if (ftruncate(yaml_fd, 0) < 0 || pwrite(yaml_fd, text, len, 0) != (ssize_t)len)
		abort();
}

static void fuzz_cli(const uint8_t *data, size_t size, bool capture)
{
	char *text = malloc(size + 1);
	char *argv[MAX_ARGS + 2];
	int argc = 0;
	struct cli_opts opts;
	if (!text)
		return;
	memcpy(text, data, size);
	text[size] = '\0';

	/* The arguments end at the first empty line; the YAML follows it. */
	char *yaml = strstr(text, "\n\n");
	set_yaml(yaml ? (const uint8_t *)yaml + 2 : (const uint8_t *)"", yaml ? strlen(yaml + 2) : 0);
	if (yaml)
		*yaml = '\0';
	argv[argc++] = capture ? "capture" : "read";
	for (char *save = NULL, *arg = strtok_r(text, "\n", &save); arg && argc < MAX_ARGS;
	     arg = strtok_r(NULL, "\n", &save)) {
		bool config_value = strcmp(argv[argc - 1], "--config") == 0;
		if (strncmp(arg, "--config=", 9) == 0)
			arg = config_eq;
		argv[argc++] = config_value ? yaml_path : arg;
	}
	argv[argc] = NULL;
	(void)cli_parse(argc, argv, capture, &opts);
	cli_opts_free(&opts);      /* the filter expression cli_parse joined */
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_config cfg;
	char err[512];
	if (size == 0)
		return 0;
	config_defaults(&cfg);
	switch (data[0] % 3) {
	case 0:
		set_yaml(data + 1, size - 1);
		if (config_load_yaml(&cfg, yaml_path, err, sizeof(err)) < 0 &&
		    !memchr(err, '\0', sizeof(err)))
			__builtin_trap();
		break;
	case 1: {
		char *assignment = strndup((const char *)data + 1, size - 1);
		if (assignment && config_set(&cfg, assignment, err, sizeof(err)) < 0 &&
		    !memchr(err, '\0', sizeof(err)))
			__builtin_trap();
		free(assignment);
		break;
	}
	case 2:
		fuzz_cli(data + 1, size - 1, data[0] & 1);
		break;
	}
	return 0;
}
