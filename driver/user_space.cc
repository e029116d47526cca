#include "driver/user_space.h"

#include <utility>

namespace iommusim::driver {

namespace {

std::shared_ptr<user_space>& current() {
    thread_local std::shared_ptr<user_space> space;
    return space;
}

}  // namespace

const std::shared_ptr<user_space>& current_user_space() {
    return current();
}

user_space_scope::user_space_scope(std::shared_ptr<user_space> space) : m_previous(std::move(current())) {
    current() = std::move(space);
}

user_space_scope::~user_space_scope() {
    current() = std::move(m_previous);
}

}  // namespace iommusim::driver
