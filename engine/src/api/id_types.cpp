#include "id_types.hpp"

#include "ids.hpp"

#include <string_view>

namespace cpr::api {
namespace {

struct TypeName {
  ckpt_type_t type;
  const char *name;
};

constexpr TypeName type_names[] = {
    {P_PID, "PID"}, {P_PGID, "GID"}, {P_SID, "SID"}, {P_ASH, "ASH"},
    {P_HID, "HID"}, {P_SGP, "SGP"},  {P_JID, "JID"}};

} // namespace

const char *type_name(unsigned long type) {
  for (const TypeName &t : type_names)
    if (t.type == type)
      return t.name;
  return nullptr;
}

std::pair<ckpt_id_t, ckpt_type_t> first_id(const std::string &ids,
                                           pid_t fallback) {
  auto items = engine::split_id_list(ids);
  ckpt_type_t type = P_PID;
  std::optional<std::uint64_t> id;
  if (!items.empty()) {
    for (const TypeName &t : type_names)
      if (items[0].type == t.name)
        type = t.type;
    id = engine::parse_number(items[0].id, type == P_JID ? 16 : 10);
  }
  return {id ? static_cast<ckpt_id_t>(*id) : fallback, type};
}

} // namespace cpr::api
