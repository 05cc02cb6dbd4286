// Small helpers for the runtime's envelopes: typed access and construction.
#pragma once

#include <memory>
#include <typeinfo>

#include "cluster/message.hpp"

namespace cluster::internal {

/// The value in `e`, which must hold a T.
template <class T>
T& payload(detail::envelope* e) {
  return static_cast<detail::typed_envelope<T>*>(e)->value;
}

/// The value in `e` if it holds a T, else null.
template <class T>
T* payload_if(detail::envelope* e) {
  if (e->type != &typeid(T) && *e->type != typeid(T)) return nullptr;
  return &payload<T>(e);
}

/// A user message holding `value`.
template <class T>
std::unique_ptr<detail::envelope> user_envelope(T value) {
  return std::make_unique<detail::typed_envelope<T>>(std::move(value));
}

}  // namespace cluster::internal
