/* Wine 8 has no bcryptprimitives.dll, from which Rust's std (1.78 and later) imports
 * ProcessPrng on Windows. This stand-in exports it and forwards to BCryptGenRandom with the
 * system RNG, which Wine does implement. Used only to run the test suite under Wine
 * (.ci/wine.sh); never part of the library. */
#include <windows.h>
#include <bcrypt.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0)
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
