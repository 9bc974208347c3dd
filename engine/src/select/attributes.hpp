// The attribute files of the guide: /etc/cpr_proto, then $HOME/.cpr.
//
//   # a comment runs to the end of the line
//   CKPT IDtype IDvalue {
//       FILE: "pattern": MERGE | IGNORE | APPEND | REPLACE | SUBSTITUTE
//       FILE: MERGE | ...          (no pattern: every other file)
//       WILL: EXIT | KILL | CONT
//       CDIR: REPLACE | IGNORE
//       RDIR: REPLACE | IGNORE
//       FORK: ORIGINAL | ANY
//       IPC: USED | ALL
//   }
//
// IDtype is PID, GID, SID, ASH, JID, HID, SGP or `*`; IDvalue is an ID of
// that type as -p takes it, or `*` after a `*` IDtype. The colons after the
// policy name and after the pattern may be left out (`WILL CONT`); keywords
// may be in any case. A policy line ends at the end of its line or at `}`.
// Patterns are shell wildcards (fnmatch, `*` crossing `/`) matched against
// a file's absolute path.
//
// Which blocks apply to a checkpoint of a -p list: a block whose IDtype and
// IDvalue name the same ID as an item of the list (a bare number is a PID;
// values compare as numbers, or as paths for a JID); a `* VALUE` block whose
// value is that of an item, of any type; every `* *` block.
//
// Precedence, strongest first: the more specific block (`TYPE VALUE`, then
// `* VALUE`, then `* *`); among equally specific ones the later file
// ($HOME/.cpr beats /etc/cpr_proto); within a file the later block.
// WILL, CDIR, RDIR, FORK and IPC come from the strongest block that sets
// them. IPC ALL (or --all-ipc) saves the System V IPC objects of the
// checkpoint owner that no process uses as well; USED, the default, only
// those the set attaches or last used.
// A file's disposition comes from the strongest block that decides it: the
// blocks are tried in that order, in each its FILE lines with a pattern in
// the order written (the first that matches decides), then its FILE line
// without a pattern. If none decides: MERGE. On the command line, -k and
// -g beat WILL; at restart, --fork-any beats FORK ORIGINAL.
#pragma once

#include <cpr/engine/engine.hpp>
#include <cpr/sdk/handler.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cpr::engine {

// The guide's FILE dispositions: what becomes of an open file at restart.
enum class FileDisposition {
  merge,      // reopen, seek to the saved offset (the default)
  ignore,     // reopen as first opened, at offset 0 (truncating a writer)
  append,     // reopen, at the end
  replace,    // saved at checkpoint, put back over the original at restart
  substitute, // saved at checkpoint, the copy opened instead of the original
};

// Which System V IPC objects a checkpoint saves.
enum class IpcPolicy { used, all };

struct FileRule {
  std::string pattern;
  FileDisposition action;
};

struct AttributeBlock {
  std::string id_type;                         // "PID" ... "SGP", or "*"
  std::string id_value;                        // as written, or "*"
  std::vector<FileRule> files;                 // with a pattern
  std::optional<FileDisposition> file_default; // FILE without one
  std::optional<Will> will;
  std::optional<DirPolicy> cdir, rdir;
  std::optional<Fork> fork;
  std::optional<IpcPolicy> ipc;
};

// The blocks of an attribute file's text. `name` is the file's name in
// errors, thrown as sdk::Error "NAME:LINE:COLUMN: what is wrong".
std::vector<AttributeBlock> parse_attributes(std::string_view text,
                                             const std::string &name);

// The blocks of the file at `path`; none if there is no such file.
std::vector<AttributeBlock> read_attribute_file(const std::string &path);

// /etc/cpr_proto, then $HOME/.cpr (without HOME, the password entry's home).
std::vector<std::string> attribute_files();

// What the attribute files say for one checkpoint.
class Policies {
public:
  Policies() = default;
  // `blocks`: the blocks that apply, strongest first.
  explicit Policies(std::vector<AttributeBlock> blocks);

  std::optional<Will> will() const;
  DirPolicy cdir() const;
  DirPolicy rdir() const;
  Fork fork() const;
  IpcPolicy ipc() const;
  FileDisposition disposition(const std::string &path) const;
  // For handlers (sdk::PolicyLookup): the guide's word for what is said of
  // `subject` under `directive` ("FILE"), "" for nothing.
  std::string policy(const std::string &directive,
                     const std::string &subject) const;

private:
  std::vector<AttributeBlock> blocks_;
};

// The policies for a checkpoint of `ids` (a -p list), from the blocks of
// each attribute file in the order the files are read.
Policies policies_for(const IdList &ids,
                      std::span<const std::vector<AttributeBlock>> files);

// Reads `files` (missing ones are skipped) for a checkpoint of `ids`.
Policies load_policies(const IdList &ids,
                       const std::vector<std::string> &files);

// -k or -g beat the file's WILL; with neither anywhere, EXIT.
Will decide_will(std::optional<Will> command_line, const Policies &policies);

// --fork-any, or FORK ANY in any statefile of the restart.
Fork decide_fork(Fork command_line, std::span<const Fork> statefiles);

const char *will_name(Will will);
const char *fork_name(Fork fork);
const char *dir_policy_name(DirPolicy policy);

} // namespace cpr::engine
