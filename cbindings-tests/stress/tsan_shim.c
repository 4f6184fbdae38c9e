/* Linked into the ThreadSanitizer build of the stress program (scripts/tsan.sh):
 * rustc's (LLVM's) instrumentation calls __tsan_memcpy, __tsan_memmove and
 * __tsan_memset, which gcc 12's libtsan does not export. Each calls the libc
 * function, which libtsan intercepts and checks as usual. */
#include <string.h>

void *__tsan_memcpy(void *dest, const void *src, size_t n);
void *__tsan_memmove(void *dest, const void *src, size_t n);
void *__tsan_memset(void *dest, int c, size_t n);

void *__tsan_memcpy(void *dest, const void *src, size_t n)
{
	return memcpy(dest, src, n);
}

void *__tsan_memmove(void *dest, const void *src, size_t n)
{
	return memmove(dest, src, n);
}

void *__tsan_memset(void *dest, int c, size_t n)
{
	return memset(dest, c, n);
}
