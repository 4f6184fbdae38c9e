/* Shared by the C tests: a check that the library we are running on is the one
 * the test suite built, and a small CHECK macro.
 *
 * Debian's libmosquitto.so.1 is installed on the build machines, and the loader
 * would quietly pick it if our staged copy were missed, so every test program
 * starts with check_library_is_ours(). The test runner puts the path of the
 * staged library in SKEETER_EXPECTED_LIB. dladdr needs _GNU_SOURCE defined
 * before the first system header: the runner passes -D_GNU_SOURCE. */
#ifndef SKEETER_TEST_H
#define SKEETER_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mosquitto.h>

#define CHECK(condition)                                                        \
	do {                                                                    \
		if (!(condition)) {                                             \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,  \
				__LINE__, #condition);                           \
			exit(1);                                                \
		}                                                               \
	} while (0)

static void check_library_is_ours(void)
{
	const char *expected = getenv("SKEETER_EXPECTED_LIB");
	Dl_info info;
	char loaded_path[PATH_MAX], expected_path[PATH_MAX];

	if (expected == NULL) {
		fprintf(stderr, "SKEETER_EXPECTED_LIB is not set\n");
		exit(2);
	}
	if (dladdr((void *)mosquitto_lib_version, &info) == 0 || info.dli_fname == NULL) {
		fprintf(stderr, "dladdr cannot tell where mosquitto_lib_version is\n");
		exit(2);
	}
	if (realpath(info.dli_fname, loaded_path) == NULL
	    || realpath(expected, expected_path) == NULL
	    || strcmp(loaded_path, expected_path) != 0) {
		fprintf(stderr, "loaded %s, expected %s\n", info.dli_fname, expected);
		exit(2);
	}
}

#endif
