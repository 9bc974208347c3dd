// The tokens of an attribute file: words, "patterns", ':', '{', '}', line
// ends; blanks and # comments skipped.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cpr::engine {

enum class Kind { word, pattern, colon, open, close, newline, end };

struct Token {
  Kind kind = Kind::end;
  std::string text;
  int line = 1, column = 1;
};

// For messages: "'CKPT'", "the end of the line" ...
std::string describe(const Token &t);

class Lexer {
public:
  Lexer(std::string_view text, const std::string &name)
      : text_(text), name_(name) {}

  // Throws sdk::Error "NAME:LINE:COLUMN: what".
  [[noreturn]] void fail(int line, int column, const std::string &what) const;
  Token next();

private:
  int column() const { return static_cast<int>(pos_ - line_start_) + 1; }
  void skip_blanks_and_comment();
  Token pattern(Token t);

  std::string_view text_;
  const std::string &name_;
  size_t pos_ = 0, line_start_ = 0;
  int line_ = 1;
};

} // namespace cpr::engine
