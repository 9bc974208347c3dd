#include "id_types.hpp"

#include <cpr/engine/id_list.hpp>

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
  const auto list = engine::IdList::parse(ids);
  if (list.empty())
    return {fallback, P_PID};
  const engine::Id &first = list.items()[0];
  ckpt_type_t type = P_PID;
  for (const TypeName &t : type_names)
    if (engine::id_type_name(first.type) == t.name)
      type = t.type;
  bool numbered = first.cgroup_path.empty();
  return {numbered ? static_cast<ckpt_id_t>(first.number) : fallback, type};
}

} // namespace cpr::api
