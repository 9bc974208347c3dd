// The tokens of an attribute file (see attribute_lexer.hpp).
#include "select/attribute_lexer.hpp"

#include <cpr/sdk/error.hpp>

#include <cctype>
#include <fmt/format.h>

namespace cpr::engine {
namespace {

bool is_word_char(char c) {
  return !std::isspace(static_cast<unsigned char>(c)) && c != '{' && c != '}' &&
         c != ':' && c != '"' && c != '#';
}

} // namespace

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

[[noreturn]] void Lexer::fail(int line, int column,
                              const std::string &what) const {
  throw sdk::Error(fmt::format("{}:{}:{}: {}", name_, line, column, what));
}

Token Lexer::next() {
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

void Lexer::skip_blanks_and_comment() {
  while (pos_ < text_.size() && text_[pos_] != '\n' &&
         std::isspace(static_cast<unsigned char>(text_[pos_])))
    ++pos_;
  if (pos_ < text_.size() && text_[pos_] == '#')
    while (pos_ < text_.size() && text_[pos_] != '\n')
      ++pos_;
}

Token Lexer::pattern(Token t) {
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

} // namespace cpr::engine
