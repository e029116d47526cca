#include "preload/forked_callers.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <utility>
#include <vector>

#include "driver/uaccess.h"
#include "driver/user_space.h"

namespace iommusim::preload {

namespace {

// One message each way: a call and its result, the parent's requests for the child's memory and
// the child's replies. `payload` bytes follow the header (read data, write data).
enum class kind : uint32_t { call, result, read, write, writable, readable, mapping, reply };

struct header {
    kind what = kind::reply;
    uint32_t pad = 0;
    uint64_t a = 0;
    uint64_t b = 0;
    uint64_t c = 0;
    uint64_t d = 0;
    uint64_t payload = 0;
};

// The most bytes one read or write request moves; longer copies take several.
constexpr uint64_t max_chunk = 64 * 1024;

// Moves all len bytes through io (send or recv), retrying after signals; false when the peer is
// gone or the socket failed.
template <typename Io, typename Byte>
bool transfer_all(Io io, Byte* p, std::size_t len) {
    while (len != 0) {
        const ssize_t n = io(p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        p += n;
        len -= static_cast<std::size_t>(n);
    }
    return true;
}

bool send_all(int fd, const void* data, std::size_t len) {
    return transfer_all([fd](const char* p, std::size_t n) { return send(fd, p, n, MSG_NOSIGNAL); },
                        static_cast<const char*>(data), len);
}

bool recv_all(int fd, void* data, std::size_t len) {
    return transfer_all([fd](char* p, std::size_t n) { return recv(fd, p, n, 0); }, static_cast<char*>(data), len);
}

bool send_message(int fd, const header& h, const void* payload = nullptr) {
    return send_all(fd, &h, sizeof(h)) && (h.payload == 0 || send_all(fd, payload, h.payload));
}

// A header, and its payload into `payload` (at most max_chunk bytes, else a protocol error).
bool recv_message(int fd, header& h, std::vector<unsigned char>& payload) {
    if (!recv_all(fd, &h, sizeof(h)) || h.payload > max_chunk) {
        return false;
    }
    payload.resize(h.payload);
    return h.payload == 0 || recv_all(fd, payload.data(), h.payload);
}

// The child's address space as the parent's model sees it during a forwarded call: every access
// is a request over the connection, answered by the child (forward_call). Used only by the
// serving thread, while the child waits for its call's result.
class forked_child_space : public driver::user_space {
  public:
    explicit forked_child_space(int fd) : m_fd(fd) {}
    ~forked_child_space() override { close(m_fd); }
    forked_child_space(const forked_child_space&) = delete;
    forked_child_space& operator=(const forked_child_space&) = delete;

    int fd() const { return m_fd; }
    void mark_gone() { m_gone.store(true); }

    std::size_t read(void* dst, uint64_t src, std::size_t len) override {
        auto* out = static_cast<unsigned char*>(dst);
        for (std::size_t done = 0; done < len;) {
            const uint64_t n = std::min<uint64_t>(len - done, max_chunk);
            header reply;
            if (!request({kind::read, 0, src + done, n}, nullptr, reply) || reply.payload != n || reply.a > n) {
                return len - done;
            }
            std::memcpy(out + done, m_payload.data(), n - reply.a);
            if (reply.a != 0) {
                return len - done - (n - reply.a);
            }
            done += n;
        }
        return 0;
    }

    std::size_t write(uint64_t dst, const void* src, std::size_t len) override {
        const auto* in = static_cast<const unsigned char*>(src);
        for (std::size_t done = 0; done < len;) {
            const uint64_t n = std::min<uint64_t>(len - done, max_chunk);
            header h{kind::write, 0, dst + done, n};
            h.payload = n;
            header reply;
            if (!request(h, in + done, reply) || reply.a > n) {
                return len - done;
            }
            if (reply.a != 0) {
                return len - done - (n - reply.a);
            }
            done += n;
        }
        return 0;
    }

    bool range_writable(uint64_t uptr, std::size_t len) override {
        header reply;
        return request({kind::writable, 0, uptr, len}, nullptr, reply) && reply.a != 0;
    }

    uint64_t readable_prefix(uint64_t uptr, uint64_t len) override {
        header reply;
        return request({kind::readable, 0, uptr, len}, nullptr, reply) ? std::min(reply.a, len) : 0;
    }

    bool model_address(uint64_t uptr, uint64_t len, uint64_t& out) override {
        header reply;
        if (!request({kind::mapping, 0, uptr, len}, nullptr, reply) || reply.a == 0) {
            return false;
        }
        driver::shared_mapping file;
        file.device = reply.b;
        file.inode = reply.c;
        file.offset = reply.d;
        return driver::address_of_shared(file, len, out);
    }

    bool alive() const override {
        if (m_gone.load()) {
            return false;
        }
        // The child's end closes when it exits or execs (the kernel closes a process's files
        // before its parent can reap it).
        pollfd p{m_fd, POLLRDHUP, 0};
        return poll(&p, 1, 0) == 0 || (p.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)) == 0;
    }

  private:
    bool request(const header& h, const void* payload, header& reply) {
        if (m_gone.load() || !send_message(m_fd, h, payload) || !recv_message(m_fd, reply, m_payload) ||
            reply.what != kind::reply) {
            m_gone.store(true);
            return false;
        }
        return true;
    }

    int m_fd;
    std::atomic<bool> m_gone{false};
    std::vector<unsigned char> m_payload;
};

// The parent's ends this process serves: a forked child closes its inherited copies.
std::mutex g_served_lock;
std::vector<int>& served_fds() {
    static auto* fds = new std::vector<int>;  // never destroyed: threads may outlive exit handlers
    return *fds;
}

void serve_loop(std::shared_ptr<forked_child_space> space, serve_call_fn serve) {
    std::vector<unsigned char> payload;
    header call;
    while (recv_message(space->fd(), call, payload) && call.what == kind::call) {
        int error = 0;
        int rc = 0;
        {
            const driver::user_space_scope caller(space);
            rc = serve(static_cast<ino_t>(call.a), static_cast<unsigned long>(call.b), call.c, error);
        }
        header result{kind::result, 0, static_cast<uint64_t>(static_cast<int64_t>(rc)), static_cast<uint64_t>(error)};
        if (!send_message(space->fd(), result)) {
            break;
        }
    }
    space->mark_gone();
    std::lock_guard<std::mutex> guard(g_served_lock);
    auto& fds = served_fds();
    fds.erase(std::remove(fds.begin(), fds.end(), space->fd()), fds.end());
}

// The child's answer to one of the parent's requests for its memory.
bool answer(int fd, const header& req, const std::vector<unsigned char>& payload) {
    header reply{kind::reply};
    std::vector<unsigned char> data;
    switch (req.what) {
        case kind::read:
            if (req.b > max_chunk) {
                return false;
            }
            data.resize(req.b);
            reply.a = driver::copy_from_user(data.data(), req.a, req.b);
            reply.payload = req.b;
            break;
        case kind::write:
            reply.a = driver::copy_to_user(req.a, payload.data(), payload.size());
            break;
        case kind::writable:
            reply.a = driver::user_range_writable(req.a, req.b) ? 1 : 0;
            break;
        case kind::readable:
            reply.a = driver::user_readable_prefix(req.a, req.b);
            break;
        case kind::mapping: {
            driver::shared_mapping file;
            if (driver::shared_mapping_of(req.a, req.b, file)) {
                reply.a = 1;
                reply.b = file.device;
                reply.c = file.inode;
                reply.d = file.offset;
            }
            break;
        }
        default:
            return false;
    }
    return send_message(fd, reply, data.data());
}

}  // namespace

fork_channel open_fork_channel() {
    int ends[2];
    fork_channel channel;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) == 0) {
        channel.parent_end = ends[0];
        channel.child_end = ends[1];
    }
    return channel;
}

void serve_forked_child(const fork_channel& channel, serve_call_fn serve) {
    if (channel.parent_end < 0) {
        return;
    }
    close(channel.child_end);
    auto space = std::make_shared<forked_child_space>(channel.parent_end);
    {
        std::lock_guard<std::mutex> guard(g_served_lock);
        served_fds().push_back(channel.parent_end);
    }
    try {
        std::thread(serve_loop, std::move(space), serve).detach();
    } catch (...) {
        // No thread: the child's calls find the connection closed (EBADF) instead of hanging.
        std::lock_guard<std::mutex> guard(g_served_lock);
        served_fds().pop_back();
    }
}

void adopt_fork_channel(const fork_channel& channel) {
    if (channel.parent_end >= 0) {
        close(channel.parent_end);
    }
}

void forget_served_channels() {
    // Only the forking thread exists in the child, so no lock holder can be waited for; the
    // parent's lock state was copied, so take the list without it.
    new (&g_served_lock) std::mutex;
    for (int fd : served_fds()) {
        close(fd);
    }
    served_fds().clear();
}

int forward_call(int fd, ino_t ino, unsigned long request, void* arg) {
    header call{kind::call, 0, static_cast<uint64_t>(ino), request, reinterpret_cast<uint64_t>(arg)};
    if (!send_message(fd, call)) {
        errno = EBADF;
        return -1;
    }
    std::vector<unsigned char> payload;
    header m;
    while (recv_message(fd, m, payload)) {
        if (m.what == kind::result) {
            const int rc = static_cast<int>(static_cast<int64_t>(m.a));
            if (rc < 0) {
                errno = static_cast<int>(m.b);
            }
            return rc;
        }
        if (!answer(fd, m, payload)) {
            break;
        }
    }
    errno = EBADF;  // the parent, and with it the file's model, is gone
    return -1;
}

}  // namespace iommusim::preload
