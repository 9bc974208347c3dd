// The saved form of a process's address space (kind "memory.mm").
#pragma once

#include <cpr/sdk/range.hpp>

#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <boost/serialization/version.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace cpr::memory {

enum class VmaKind : std::uint8_t {
  anon_private,
  anon_shared, // MAP_SHARED | MAP_ANONYMOUS
  file_private,
  file_shared,
  kernel, // [vdso], [vvar], [vvar_vclock]: placed, never saved
};

// Enough to tell, at restart, that a file is still the one that was mapped;
// with -u, where its copy is in the statefile (program_files.hpp).
struct FileIdentity {
  std::string path;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::string saved_copy; // relative to the statefile; "" without -u

  // Class version 1 added saved_copy.
  template <class A> void serialize(A &ar, unsigned version) {
    ar &path &size &mtime_ns;
    if (version >= 1)
      ar &saved_copy;
  }
};

struct Vma {
  sdk::Range range;
  std::uint32_t prot = 0;
  VmaKind kind = VmaKind::anon_private;
  std::string name;         // the maps name: "[heap]", "[vdso]", a path
  std::uint64_t offset = 0; // file offset, bytes
  FileIdentity file;
  std::string vmflags;           // smaps VmFlags
  std::vector<sdk::Range> pages; // saved, one after another from pages_offset
  std::uint64_t pages_offset = 0;
  // anon_shared memory that an earlier process of the set also maps: it is
  // saved with that process and mapped from it at restart.
  std::int32_t shared_with = 0;
  sdk::Range shared_range;         // where that process maps the part
  std::uint64_t shared_offset = 0; // where this mapping starts in the part
  std::vector<sdk::Range> guards;  // guard regions (MADV_GUARD_INSTALL)
  // A deleted file or memfd (unlinked_mapping.hpp): its contents' name in
  // the statefile, and its mode and owner (file.path: the path it had, or
  // "/memfd:NAME"; file.size: its size).
  std::string saved_as;
  std::uint32_t file_mode = 0, file_uid = 0, file_gid = 0;

  bool has_flag(const char *flag) const;
  // Class version 1 added shared_with and shared_range; 2 shared_offset;
  // 3 guards; 4 saved_as, file_mode, file_uid, file_gid.
  template <class A> void serialize(A &ar, unsigned version) {
    ar &range &prot &kind &name &offset &file &vmflags &pages &pages_offset;
    if (version >= 1)
      ar &shared_with &shared_range;
    if (version >= 2)
      ar &shared_offset;
    if (version >= 3)
      ar &guards;
    if (version >= 4)
      ar &saved_as &file_mode &file_uid &file_gid;
  }
};

// The mm fields that PR_SET_MM_MAP sets, as /proc/PID/stat shows them.
struct MmFields {
  std::uint64_t start_code = 0, end_code = 0, start_data = 0, end_data = 0;
  std::uint64_t start_brk = 0, brk = 0, start_stack = 0;
  std::uint64_t arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;

  template <class A> void serialize(A &ar, unsigned) {
    ar &start_code &end_code &start_data &end_data &start_brk &brk &start_stack
        &arg_start &arg_end &env_start &env_end;
  }
};

struct AddressSpace {
  std::int32_t pid = 0;
  std::vector<Vma> vmas;
  MmFields mm;
  std::vector<std::uint8_t> auxv;
  FileIdentity exe;
  std::uint32_t vdso_crc = 0;
  std::uint64_t vdso_size = 0;
  // PR_GET_THP_DISABLE: bit 0 set if disabled, the flags above it.
  std::int64_t thp_disable = 0;
  // mlockall flags for mappings to come: MCL_FUTURE, MCL_ONFAULT, or 0.
  std::uint32_t lock_future = 0;

  // Class version 2 added thp_disable; 3 lock_future.
  template <class A> void serialize(A &ar, unsigned version) {
    ar &pid &vmas &mm &auxv &exe &vdso_crc &vdso_size;
    if (version >= 2)
      ar &thp_disable;
    if (version >= 3)
      ar &lock_future;
  }
};

} // namespace cpr::memory

BOOST_CLASS_VERSION(cpr::memory::AddressSpace, 3)
BOOST_CLASS_VERSION(cpr::memory::FileIdentity, 1)
BOOST_CLASS_VERSION(cpr::memory::Vma, 4)
