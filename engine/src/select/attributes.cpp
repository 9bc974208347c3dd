// The attribute file: its grammar, which blocks apply, and their precedence
// (see attributes.hpp).
#include "select/attributes.hpp"

#include "select/ids.hpp"
#include "trust/privilege.hpp"

#include <cpr/sdk/error.hpp>
#include <cpr/sdk/procfs.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fnmatch.h>
#include <pwd.h>
#include <tuple>
#include <unistd.h>

namespace cpr::engine {
namespace {

template <class T> struct Keyword {
  std::string_view name;
  T value;
};

constexpr Keyword<FileDisposition> file_actions[] = {
    {"MERGE", FileDisposition::merge},
    {"IGNORE", FileDisposition::ignore},
    {"APPEND", FileDisposition::append},
    {"REPLACE", FileDisposition::replace},
    {"SUBSTITUTE", FileDisposition::substitute},
};
constexpr Keyword<Will> will_actions[] = {
    {"EXIT", Will::exit}, {"KILL", Will::kill}, {"CONT", Will::cont}};
constexpr Keyword<DirPolicy> dir_actions[] = {{"REPLACE", DirPolicy::replace},
                                              {"IGNORE", DirPolicy::ignore}};
constexpr Keyword<Fork> fork_actions[] = {{"ORIGINAL", Fork::original},
                                          {"ANY", Fork::any}};
constexpr Keyword<IpcPolicy> ipc_actions[] = {{"USED", IpcPolicy::used},
                                              {"ALL", IpcPolicy::all}};
constexpr std::string_view id_types[] = {"PID", "GID", "SID", "ASH",
                                         "JID", "HID", "SGP", "*"};

std::string upper(std::string_view text) {
  std::string out(text);
  for (char &c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

template <class T, size_t N>
std::optional<T> find_keyword(const Keyword<T> (&table)[N],
                              std::string_view word) {
  for (const auto &k : table)
    if (k.name == upper(word))
      return k.value;
  return std::nullopt;
}

// "MERGE, IGNORE or APPEND"
template <class Names> std::string one_of(const Names &names) {
  std::string out;
  size_t i = 0, n = std::size(names);
  for (const auto &name : names) {
    if constexpr (requires { name.name; })
      out += name.name;
    else
      out += name;
    out += ++i + 1 < n ? ", " : (i < n ? " or " : "");
  }
  return out;
}

// An ID as compared: a number in decimal, a cgroup path in normal form.
std::optional<std::string> canonical_id(std::string_view type,
                                        std::string_view value) {
  if (type == "JID" && value.starts_with('/')) {
    std::string path = std::filesystem::path(value).lexically_normal();
    while (path.size() > 1 && path.back() == '/')
      path.pop_back();
    return path;
  }
  auto number = parse_number(value, type == "JID" ? 16 : 10);
  if (!number)
    return std::nullopt;
  return std::to_string(*number);
}

bool is_id_value(std::string_view type, std::string_view value) {
  if (type == "*")
    return value == "*" || canonical_id("PID", value) ||
           canonical_id("JID", value);
  return canonical_id(type, value).has_value();
}

enum class Kind { word, pattern, colon, open, close, newline, end };

struct Token {
  Kind kind = Kind::end;
  std::string text;
  int line = 1, column = 1;
};

std::string describe(const Token &t) {
  switch (t.kind) {
  case Kind::word:
    return "'" + t.text + "'";
  case Kind::pattern:
    return "\"" + t.text + "\"";
  case Kind::colon:
    return "':'";
  case Kind::open:
    return "'{'";
  case Kind::close:
    return "'}'";
  case Kind::newline:
    return "the end of the line";
  case Kind::end:
    return "the end of the file";
  }
  return "?";
}

bool is_word_char(char c) {
  return !std::isspace(static_cast<unsigned char>(c)) && c != '{' && c != '}' &&
         c != ':' && c != '"' && c != '#';
}

class Lexer {
public:
  Lexer(std::string_view text, const std::string &name)
      : text_(text), name_(name) {}

  [[noreturn]] void fail(int line, int column, const std::string &what) const {
    throw sdk::Error(fmt::format("{}:{}:{}: {}", name_, line, column, what));
  }

  Token next() {
    skip_blanks_and_comment();
    Token t{Kind::end, "", line_, column()};
    if (pos_ >= text_.size())
      return t;
    char c = text_[pos_];
    if (c == '\n') {
      ++pos_;
      ++line_;
      line_start_ = pos_;
      t.kind = Kind::newline;
    } else if (c == '"') {
      t = pattern(t);
    } else if (c == ':' || c == '{' || c == '}') {
      ++pos_;
      t.kind = c == ':' ? Kind::colon : c == '{' ? Kind::open : Kind::close;
      t.text = std::string(1, c);
    } else {
      t.kind = Kind::word;
      while (pos_ < text_.size() && is_word_char(text_[pos_]))
        t.text += text_[pos_++];
    }
    return t;
  }

private:
  int column() const { return static_cast<int>(pos_ - line_start_) + 1; }

  void skip_blanks_and_comment() {
    while (pos_ < text_.size() && text_[pos_] != '\n' &&
           std::isspace(static_cast<unsigned char>(text_[pos_])))
      ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '#')
      while (pos_ < text_.size() && text_[pos_] != '\n')
        ++pos_;
  }

  Token pattern(Token t) {
    size_t close = text_.find_first_of("\"\n", pos_ + 1);
    if (close == std::string_view::npos || text_[close] != '"')
      fail(t.line, t.column, "the pattern has no closing '\"'");
    t.kind = Kind::pattern;
    t.text = std::string(text_.substr(pos_ + 1, close - pos_ - 1));
    if (t.text.empty())
      fail(t.line, t.column, "the pattern is empty");
    pos_ = close + 1;
    return t;
  }

  std::string_view text_;
  const std::string &name_;
  size_t pos_ = 0, line_start_ = 0;
  int line_ = 1;
};

class Parser {
public:
  Parser(std::string_view text, const std::string &name) : lexer_(text, name) {
    advance();
  }

  std::vector<AttributeBlock> blocks() {
    std::vector<AttributeBlock> out;
    for (skip_newlines(); tok_.kind != Kind::end; skip_newlines())
      out.push_back(block());
    return out;
  }

private:
  void advance() { tok_ = lexer_.next(); }

  [[noreturn]] void fail(const Token &at, const std::string &what) const {
    lexer_.fail(at.line, at.column, what);
  }

  void skip_newlines() {
    while (tok_.kind == Kind::newline)
      advance();
  }

  Token take_word(const std::string &what) {
    if (tok_.kind != Kind::word)
      fail(tok_, fmt::format("expected {}, found {}", what, describe(tok_)));
    Token word = tok_;
    advance();
    return word;
  }

  void skip_colon() {
    if (tok_.kind == Kind::colon)
      advance();
  }

  AttributeBlock block() {
    Token ckpt = take_word("CKPT");
    if (upper(ckpt.text) != "CKPT")
      fail(ckpt, fmt::format("expected CKPT, found {}", describe(ckpt)));
    AttributeBlock b = block_id();
    skip_newlines();
    if (tok_.kind != Kind::open)
      fail(tok_, fmt::format("expected '{{', found {}", describe(tok_)));
    advance();
    for (skip_newlines(); tok_.kind != Kind::close; skip_newlines()) {
      if (tok_.kind == Kind::end)
        fail(tok_, fmt::format("the block of line {} has no '}}'", ckpt.line));
      policy(b);
    }
    advance();
    end_of_line("'}'");
    return b;
  }

  AttributeBlock block_id() {
    Token type = take_word("an IDtype");
    AttributeBlock b;
    b.id_type = upper(type.text);
    if (std::find(std::begin(id_types), std::end(id_types), b.id_type) ==
        std::end(id_types))
      fail(type, fmt::format("unknown IDtype {} (use {})", describe(type),
                             one_of(id_types)));
    Token value = take_word("an IDvalue");
    b.id_value = value.text;
    if (b.id_value == "*" && b.id_type != "*")
      fail(value, "IDvalue * goes only with IDtype *");
    if (!is_id_value(b.id_type, b.id_value))
      fail(value, fmt::format("{} is not an ID of type {}", describe(value),
                              b.id_type));
    return b;
  }

  void end_of_line(const std::string &after) {
    if (tok_.kind == Kind::newline || tok_.kind == Kind::end)
      return advance();
    fail(tok_, fmt::format("expected the end of the line after {}, found {}",
                           after, describe(tok_)));
  }

  template <class T, size_t N>
  T action(const Token &policy, const Keyword<T> (&table)[N]) {
    Token word = take_word(fmt::format("a {} action", policy.text));
    if (auto value = find_keyword(table, word.text))
      return *value;
    fail(word, fmt::format("unknown {} action {} (use {})", policy.text,
                           describe(word), one_of(table)));
  }

  template <class T>
  void set_once(std::optional<T> &slot, T value, const Token &policy) {
    if (slot)
      fail(policy, fmt::format("{} is given twice in this block", policy.text));
    slot = value;
  }

  void policy(AttributeBlock &b) {
    Token name = take_word("a policy (FILE, WILL, CDIR, RDIR, FORK or IPC)");
    name.text = upper(name.text);
    skip_colon();
    if (name.text == "FILE")
      file_policy(b, name);
    else if (name.text == "WILL")
      set_once(b.will, action(name, will_actions), name);
    else if (name.text == "CDIR")
      set_once(b.cdir, action(name, dir_actions), name);
    else if (name.text == "RDIR")
      set_once(b.rdir, action(name, dir_actions), name);
    else if (name.text == "FORK")
      set_once(b.fork, action(name, fork_actions), name);
    else if (name.text == "IPC")
      set_once(b.ipc, action(name, ipc_actions), name);
    else
      fail(name, fmt::format("unknown policy {} (use FILE, WILL, CDIR, RDIR, "
                             "FORK or IPC)",
                             describe(name)));
    if (tok_.kind != Kind::close)
      end_of_line("the " + name.text + " policy");
  }

  void file_policy(AttributeBlock &b, const Token &name) {
    if (tok_.kind != Kind::pattern)
      return set_once(b.file_default, action(name, file_actions), name);
    std::string pattern = tok_.text;
    advance();
    skip_colon();
    b.files.push_back({pattern, action(name, file_actions)});
  }

  Lexer lexer_;
  Token tok_;
};

// How specifically a block names one of `items`: 2 by IDtype and IDvalue,
// 1 by IDvalue (`* VALUE`), 0 for `* *`; nullopt if it does not apply.
std::string canonical_id(const Id &id) {
  if (!id.cgroup_path.empty())
    return *canonical_id("JID", id.cgroup_path);
  return std::to_string(id.number);
}

std::optional<int> specificity(const AttributeBlock &b, const IdList &ids) {
  if (b.id_type == "*" && b.id_value == "*")
    return 0;
  for (const Id &id : ids.items()) {
    const std::string_view type = id_type_name(id.type);
    if (b.id_type != "*" && b.id_type != type)
      continue;
    if (canonical_id(type, b.id_value) == canonical_id(id))
      return b.id_type == "*" ? 1 : 2;
  }
  return std::nullopt;
}

std::string home_directory() {
  // Installed setuid, the caller's $HOME could name any directory for cpr
  // to read: the password database says where the caller's home is.
  const char *home = run_setuid() ? nullptr : std::getenv("HOME");
  if (home && *home)
    return home;
  if (const passwd *pw = ::getpwuid(::getuid()); pw && pw->pw_dir)
    return pw->pw_dir;
  return "";
}

template <class T, size_t N>
const char *keyword_name(const Keyword<T> (&table)[N], T value) {
  for (const auto &k : table)
    if (k.value == value)
      return k.name.data();
  return "?";
}

} // namespace

std::vector<AttributeBlock> parse_attributes(std::string_view text,
                                             const std::string &name) {
  return Parser(text, name).blocks();
}

std::vector<AttributeBlock> read_attribute_file(const std::string &path) {
  auto text = sdk::try_read_file(path);
  return text ? parse_attributes(*text, path) : std::vector<AttributeBlock>{};
}

std::vector<std::string> attribute_files() {
  std::vector<std::string> files{"/etc/cpr_proto"};
  if (std::string home = home_directory(); !home.empty())
    files.push_back(home + "/.cpr");
  return files;
}

Policies::Policies(std::vector<AttributeBlock> blocks)
    : blocks_(std::move(blocks)) {}

std::optional<Will> Policies::will() const {
  for (const auto &b : blocks_)
    if (b.will)
      return b.will;
  return std::nullopt;
}

DirPolicy Policies::cdir() const {
  for (const auto &b : blocks_)
    if (b.cdir)
      return *b.cdir;
  return DirPolicy::replace;
}

DirPolicy Policies::rdir() const {
  for (const auto &b : blocks_)
    if (b.rdir)
      return *b.rdir;
  return DirPolicy::replace;
}

Fork Policies::fork() const {
  for (const auto &b : blocks_)
    if (b.fork)
      return *b.fork;
  return Fork::original;
}

IpcPolicy Policies::ipc() const {
  for (const auto &b : blocks_)
    if (b.ipc)
      return *b.ipc;
  return IpcPolicy::used;
}

FileDisposition Policies::disposition(const std::string &path) const {
  for (const auto &b : blocks_) {
    for (const FileRule &rule : b.files)
      if (::fnmatch(rule.pattern.c_str(), path.c_str(), 0) == 0)
        return rule.action;
    if (b.file_default)
      return *b.file_default;
  }
  return FileDisposition::merge;
}

std::string Policies::policy(const std::string &directive,
                             const std::string &subject) const {
  if (directive != "FILE")
    return "";
  FileDisposition d = disposition(subject);
  for (const auto &k : file_actions)
    if (k.value == d)
      return std::string(k.name);
  return "";
}

Policies policies_for(const IdList &ids,
                      std::span<const std::vector<AttributeBlock>> files) {
  // (specificity, file, block), sorted strongest first.
  std::vector<std::tuple<int, size_t, size_t>> ranked;
  for (size_t f = 0; f < files.size(); ++f)
    for (size_t b = 0; b < files[f].size(); ++b)
      if (auto level = specificity(files[f][b], ids))
        ranked.emplace_back(*level, f, b);
  std::sort(ranked.rbegin(), ranked.rend());
  std::vector<AttributeBlock> strongest_first;
  for (auto [level, f, b] : ranked)
    strongest_first.push_back(files[f][b]);
  return Policies(std::move(strongest_first));
}

Policies load_policies(const IdList &ids,
                       const std::vector<std::string> &files) {
  std::vector<std::vector<AttributeBlock>> blocks;
  for (const std::string &path : files)
    blocks.push_back(read_attribute_file(path));
  return policies_for(ids, blocks);
}

Will decide_will(std::optional<Will> command_line, const Policies &policies) {
  return command_line ? *command_line : policies.will().value_or(Will::exit);
}

Fork decide_fork(Fork command_line, std::span<const Fork> statefiles) {
  bool any = command_line == Fork::any ||
             std::find(statefiles.begin(), statefiles.end(), Fork::any) !=
                 statefiles.end();
  return any ? Fork::any : Fork::original;
}

const char *will_name(Will will) { return keyword_name(will_actions, will); }

const char *fork_name(Fork fork) { return keyword_name(fork_actions, fork); }

const char *dir_policy_name(DirPolicy policy) {
  return keyword_name(dir_actions, policy);
}

} // namespace cpr::engine
