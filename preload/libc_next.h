// The C library's own definitions of the entry points the interposer replaces (dlsym(RTLD_NEXT)),
// resolved on first use: a call may arrive before this library's constructors have run.
#pragma once

#include <dlfcn.h>
#include <sys/types.h>

namespace iommusim::preload {

// The next definition of `name` after this library (the C library's), cached in `slot`.
template <typename Fn>
Fn libc_next(Fn& slot, const char* name) {
    if (slot == nullptr) {
        slot = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
    }
    return slot;
}

}  // namespace iommusim::preload

// Calls the C library's `name` with the interposer's own signature of it.
#define IOMMUSIM_LIBC(name) ::iommusim::preload::libc_next(libc_##name, #name)
