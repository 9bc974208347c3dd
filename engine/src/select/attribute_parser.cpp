// The attribute file's grammar: its text parsed into blocks (see
// attributes.hpp).
#include "select/attributes.hpp"

#include "select/attribute_lexer.hpp"
#include "select/attribute_words.hpp"

#include <cpr/sdk/procfs.hpp>

#include <algorithm>
#include <fmt/format.h>

namespace cpr::engine {
namespace {

constexpr std::string_view id_types[] = {"PID", "GID", "SID", "ASH",
                                         "JID", "HID", "SGP", "*"};

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

} // namespace

std::vector<AttributeBlock> parse_attributes(std::string_view text,
                                             const std::string &name) {
  return Parser(text, name).blocks();
}

std::vector<AttributeBlock> read_attribute_file(const std::string &path) {
  auto text = sdk::try_read_file(path);
  return text ? parse_attributes(*text, path) : std::vector<AttributeBlock>{};
}

} // namespace cpr::engine
