// Descriptor numbers the model hands out or takes inside ioctl arguments (the selftest's access
// files: IOMMU_TEST_OP_CREATE_ACCESS's out_access_fd, the access ops' id; the fault fds:
// IOMMU_FAULT_QUEUE_ALLOC's out_fault_fd). By default they are the
// C API's own descriptors; the interposer (preload/model_files.cc) makes them the program's real
// descriptors, as the kernel's are, by installing these hooks. Internal to the C API and the
// interposer; every hook runs under the C API's lock.
#pragma once

namespace iommusim {

struct descriptor_names {
    // A program descriptor standing for the new C API descriptor model_fd, not yet usable by the
    // program's model calls: the number, or a negative errno.
    int (*reserve)(int model_fd);
    // The same for a fault fd, whose descriptor must be pollable.
    int (*reserve_fault)(int model_fd);
    // The fault queue of fault fd model_fd now has (pending) or no longer has a group to read:
    // the program's descriptor becomes readable or stops being so.
    void (*fault_pending)(int model_fd, bool pending);
    // The creation completed (install) or failed (unreserve: the descriptor goes away).
    void (*install)(int program_fd);
    void (*unreserve)(int program_fd);
    // The C API descriptor behind program descriptor program_fd, or -1.
    int (*to_model)(int program_fd);
};

// Installs the hooks (nullptr: C API descriptors again). The object must outlive every call.
void set_descriptor_names(const descriptor_names* names);

}  // namespace iommusim
