// The address space the user pointers of the current call refer to (the kernel's current->mm).
//
// By default a call comes from the model's own process and its pointers are addresses here. A call
// made on behalf of another process (preload/forked_callers.h: a forked child whose iommufd is its
// parent's model) installs that process's space for the call's duration, on the calling thread:
// the user copies of driver/uaccess.h then reach that process, and what the model keeps (an IOAS
// area's pages, read later by DMA and accesses) must be memory the model's process reaches too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace iommusim::driver {

class user_space {
  public:
    virtual ~user_space() = default;
    // As copy_from_user / copy_to_user: the number of bytes not copied.
    virtual std::size_t read(void* dst, uint64_t src, std::size_t len) = 0;
    virtual std::size_t write(uint64_t dst, const void* src, std::size_t len) = 0;
    // As user_range_writable / user_readable_prefix, in that process.
    virtual bool range_writable(uint64_t uptr, std::size_t len) = 0;
    virtual uint64_t readable_prefix(uint64_t uptr, uint64_t len) = 0;
    // The address at which the model's process reaches the same memory as [uptr, uptr + len) of
    // this space: the same offset of one shared file (memfd, shmem, MAP_SHARED|MAP_ANONYMOUS) that
    // both map. False when there is none (private memory is that process's alone).
    virtual bool model_address(uint64_t uptr, uint64_t len, uint64_t& out) = 0;
    // False once the process is gone (its exit or exec): the kernel's mmget_not_zero failing.
    virtual bool alive() const = 0;
};

// The space of the current call on this thread; nullptr for the model's own process.
const std::shared_ptr<user_space>& current_user_space();

// Makes `space` the current one until the scope ends (nullptr: the model's own process, for the
// model's accesses to memory it keeps).
class user_space_scope {
  public:
    explicit user_space_scope(std::shared_ptr<user_space> space);
    ~user_space_scope();
    user_space_scope(const user_space_scope&) = delete;
    user_space_scope& operator=(const user_space_scope&) = delete;

  private:
    std::shared_ptr<user_space> m_previous;
};

}  // namespace iommusim::driver
