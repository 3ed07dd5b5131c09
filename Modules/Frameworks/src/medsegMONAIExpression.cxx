#include "medsegMONAIExpression.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

namespace medseg
{
namespace detail
{

namespace
{

using json = nlohmann::json;

[[noreturn]] void
Refuse(const std::string & what)
{
  throw MONAIExpressionUnsupported(what);
}

[[noreturn]] void
Fail(const std::string & message)
{
  throw MONAIExpressionFailed(message);
}

// ------------------------------------------------------------------------------------------------
// Tokens
// ------------------------------------------------------------------------------------------------

struct Token
{
  enum Kind
  {
    End,
    Number,
    String,
    Name,
    Reference,
    Operator
  };
  Kind        kind = End;
  std::string text; // the name, operator, string value or reference id
  json        number;
};

bool
IsWordChar(char c)
{
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}

void
AppendUtf8(std::string & out, uint32_t cp)
{
  if (cp < 0x80)
    out += char(cp);
  else if (cp < 0x800)
    out += { char(0xC0 | (cp >> 6)), char(0x80 | (cp & 0x3F)) };
  else if (cp < 0x10000)
    out += { char(0xE0 | (cp >> 12)), char(0x80 | ((cp >> 6) & 0x3F)), char(0x80 | (cp & 0x3F)) };
  else
    out += { char(0xF0 | (cp >> 18)), char(0x80 | ((cp >> 12) & 0x3F)), char(0x80 | ((cp >> 6) & 0x3F)),
             char(0x80 | (cp & 0x3F)) };
}

/** A Python string literal starting at s[i] (the quote); raw: no escapes. */
std::string
LexString(const std::string & s, size_t & i, bool raw)
{
  const char quote = s[i];
  if (s.compare(i, 3, std::string(3, quote)) == 0)
    Refuse("a triple-quoted string");
  std::string out;
  for (++i; i < s.size() && s[i] != quote; ++i)
  {
    if (s[i] != '\\' || i + 1 >= s.size())
    {
      out += s[i];
      continue;
    }
    const char c = s[++i];
    if (raw)
    {
      out += std::string("\\") + c;
      continue;
    }
    static const std::map<char, char> simple = { { 'n', '\n' }, { 't', '\t' }, { 'r', '\r' }, { '\\', '\\' },
                                                 { '\'', '\'' }, { '"', '"' },  { 'a', '\a' }, { 'b', '\b' },
                                                 { 'f', '\f' },  { 'v', '\v' },  { '\n', 0 } };
    const size_t hexDigits = c == 'x' ? 2 : (c == 'u' ? 4 : (c == 'U' ? 8 : 0));
    if (simple.count(c))
    {
      if (c != '\n')
        out += simple.at(c);
    }
    else if (hexDigits && i + hexDigits < s.size())
    {
      AppendUtf8(out, uint32_t(std::strtoul(s.substr(i + 1, hexDigits).c_str(), nullptr, 16)));
      i += hexDigits;
    }
    else if (c >= '0' && c <= '7')
    {
      size_t n = 1;
      while (n < 3 && i + n < s.size() && s[i + n] >= '0' && s[i + n] <= '7')
        ++n;
      AppendUtf8(out, uint32_t(std::strtoul(s.substr(i, n).c_str(), nullptr, 8)));
      i += n - 1;
    }
    else if (c == 'N')
      Refuse("a \\N{...} escape");
    else
      out += std::string("\\") + c; // Python keeps unknown escapes as they are
  }
  if (i >= s.size())
    Refuse("an unterminated string");
  ++i;
  return out;
}

json
LexNumber(const std::string & s, size_t & i)
{
  size_t j = i;
  int base = 10;
  bool isFloat = false;
  if (s[j] == '0' && j + 1 < s.size() && std::strchr("xXoObB", s[j + 1]) && s[j + 1] != '\0')
  {
    base = std::tolower(s[j + 1]) == 'x' ? 16 : (std::tolower(s[j + 1]) == 'o' ? 8 : 2);
    j += 2;
    while (j < s.size() && (std::isxdigit((unsigned char)s[j]) || s[j] == '_'))
      ++j;
  }
  else
  {
    while (j < s.size() && (std::isdigit((unsigned char)s[j]) || s[j] == '_'))
      ++j;
    if (j < s.size() && s[j] == '.')
    {
      isFloat = true;
      for (++j; j < s.size() && (std::isdigit((unsigned char)s[j]) || s[j] == '_');)
        ++j;
    }
    if (j < s.size() && (s[j] == 'e' || s[j] == 'E'))
    {
      size_t k = j + 1 + (j + 1 < s.size() && (s[j + 1] == '+' || s[j + 1] == '-') ? 1 : 0);
      if (k < s.size() && std::isdigit((unsigned char)s[k]))
      {
        isFloat = true;
        for (j = k; j < s.size() && (std::isdigit((unsigned char)s[j]) || s[j] == '_');)
          ++j;
      }
    }
  }
  if (j < s.size() && IsWordChar(s[j]))
    Refuse("the number literal '" + s.substr(i, j - i + 1) + "'"); // 1j, 1L, 12abc
  std::string text = s.substr(i, j - i);
  text.erase(std::remove(text.begin(), text.end(), '_'), text.end());
  i = j;
  if (isFloat)
    return std::strtod(text.c_str(), nullptr);
  const std::string digits = base == 10 ? text : text.substr(2);
  if (base == 10 && digits.size() > 1 && digits[0] == '0' && digits.find_first_not_of('0') != std::string::npos)
    Refuse("the number literal '" + text + "'"); // 010 is a SyntaxError in Python 3
  int64_t value = 0;
  const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
  if (r.ec == std::errc::result_out_of_range)
    Fail("integer " + text + " is larger than MedSeg's 64-bit integers");
  if (digits.empty() || r.ptr != digits.data() + digits.size())
    Refuse("the number literal '" + text + "'");
  return value;
}

std::vector<Token>
Lex(const std::string & s)
{
  static const char * const twoChar[] = { "//", "**", "==", "!=", "<=", ">=", "<<", ">>", "->", ":=" };
  std::vector<Token> tokens;
  for (size_t i = 0; i < s.size();)
  {
    const char c = s[i];
    Token      t;
    if (std::isspace(static_cast<unsigned char>(c)))
    {
      ++i;
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))))
    {
      t.kind = Token::Number;
      t.number = LexNumber(s, i);
    }
    else if (IsWordChar(c))
    {
      size_t j = i;
      while (j < s.size() && IsWordChar(s[j]))
        ++j;
      t.text = s.substr(i, j - i);
      i = j;
      t.kind = Token::Name;
      if (i < s.size() && (s[i] == '\'' || s[i] == '"') && t.text.size() <= 2)
      {
        std::string prefix = t.text;
        std::transform(prefix.begin(), prefix.end(), prefix.begin(), [](unsigned char x) { return std::tolower(x); });
        if (prefix != "r" && prefix != "u")
          Refuse("a " + t.text + "-string");
        t.kind = Token::String;
        t.text = LexString(s, i, prefix == "r");
      }
    }
    else if (c == '\'' || c == '"')
    {
      t.kind = Token::String;
      t.text = LexString(s, i, false);
    }
    else if (c == '@')
    {
      // MONAI's id pattern: @\w*(::\w*)*
      size_t j = i + 1;
      while (j < s.size() && IsWordChar(s[j]))
        ++j;
      while (s.compare(j, 2, "::") == 0)
        for (j += 2; j < s.size() && IsWordChar(s[j]);)
          ++j;
      t.kind = Token::Reference;
      t.text = s.substr(i + 1, j - i - 1);
      if (t.text.empty())
        Refuse("the operator '@'");
      i = j;
    }
    else
    {
      t.kind = Token::Operator;
      for (const char * op : twoChar)
        if (s.compare(i, 2, op) == 0)
          t.text = op;
      if (t.text.empty())
      {
        if (!std::strchr("()[]{},:.+-*/%<>=|&^~;", c))
          Refuse(std::string("the character '") + c + "'");
        t.text = std::string(1, c);
      }
      i += t.text.size();
    }
    tokens.push_back(std::move(t));
  }
  tokens.emplace_back();
  return tokens;
}

// ------------------------------------------------------------------------------------------------
// Parser and evaluator: one recursive descent, run twice (first without evaluating)
// ------------------------------------------------------------------------------------------------

/** How deep an expression may nest (parentheses, brackets, calls, unary operators, `not`, the
 * branches of `x if c else y`): Python's own parser stops at 200 nested parentheses; the limit
 * keeps the recursive descent off the end of the stack. */
constexpr int MaxDepth = 200;

/** How much an evaluation may make and use: the PythonSize() of every value an operation gives and
 * of every use of a reference, summed. Each operation costs about the size of its operands, so
 * this bounds the time too (`[1] * 60000 + [] + [] + ...` copies the list each time). */
constexpr size_t MaxWork = size_t(1) << 20;

class Evaluator
{
public:
  Evaluator(std::vector<Token> tokens, const MONAIReferenceFunction & reference)
    : m_Tokens(std::move(tokens))
    , m_Reference(reference)
  {}

  json
  Run()
  {
    Expression(false); // reads the whole expression: refuses what is outside the subset, resolves refs
    if (Peek().kind != Token::End)
      Unexpected();
    m_Pos = 0;
    return Expression(true);
  }

private:
  const Token &
  Peek(size_t ahead = 0) const
  {
    return m_Tokens[std::min(m_Pos + ahead, m_Tokens.size() - 1)];
  }

  bool
  Is(Token::Kind kind, const char * text, size_t ahead = 0) const
  {
    return Peek(ahead).kind == kind && Peek(ahead).text == text;
  }

  bool
  Accept(Token::Kind kind, const char * text)
  {
    if (!Is(kind, text))
      return false;
    ++m_Pos;
    return true;
  }

  void
  Expect(Token::Kind kind, const char * text)
  {
    if (!Accept(kind, text))
      Unexpected();
  }

  [[noreturn]] void
  Unexpected() const
  {
    const Token & t = Peek();
    Refuse(t.kind == Token::End ? std::string("the end of the expression") : "'" + t.text + "'");
  }

  /** `value`, counted against MaxWork. */
  json
  Charge(json value)
  {
    m_Work += PythonSize(value, MaxWork);
    if (m_Work > MaxWork)
      Fail("the expression makes more than " + std::to_string(MaxWork) +
           " values or characters, more than MedSeg evaluates in a config");
    return value;
  }

  /** Counts one level of nesting for as long as it lives. */
  class Nested
  {
  public:
    explicit Nested(int & depth)
      : m_Depth(depth)
    {
      if (++m_Depth > MaxDepth)
        Fail("the expression nests more than " + std::to_string(MaxDepth) + " levels deep");
    }
    ~Nested() { --m_Depth; }
    Nested(const Nested &) = delete;
    Nested &
    operator=(const Nested &) = delete;

  private:
    int & m_Depth;
  };

  /** `x if c else y`: c is evaluated first, then only the branch it takes. */
  json
  Expression(bool ev)
  {
    const Nested nested(m_Depth);
    const size_t start = m_Pos;
    json         value = Or(false);
    if (!Accept(Token::Name, "if"))
    {
      if (!ev)
        return nullptr;
      m_Pos = start;
      return Or(true);
    }
    const bool condition = PythonTruthy(Or(ev)) && ev;
    Expect(Token::Name, "else");
    json other = Expression(ev && !condition);
    if (!ev || !condition)
      return other;
    const size_t end = m_Pos;
    m_Pos = start;
    value = Or(true);
    m_Pos = end;
    return value;
  }

  json
  Or(bool ev)
  {
    json value = And(ev);
    while (Accept(Token::Name, "or"))
    {
      const bool take = ev && !PythonTruthy(value);
      json       next = And(take);
      if (take)
        value = next;
    }
    return value;
  }

  json
  And(bool ev)
  {
    json value = Not(ev);
    while (Accept(Token::Name, "and"))
    {
      const bool take = ev && PythonTruthy(value);
      json       next = Not(take);
      if (take)
        value = next;
    }
    return value;
  }

  json
  Not(bool ev)
  {
    if (!Accept(Token::Name, "not"))
      return Comparison(ev);
    const Nested nested(m_Depth);
    const json value = Not(ev);
    return ev ? json(!PythonTruthy(value)) : json();
  }

  json
  Comparison(bool ev)
  {
    json value = Sum(ev);
    json result = value;
    bool live = ev;
    for (bool first = true;; first = false)
    {
      std::string op;
      for (const char * o : { "==", "!=", "<", "<=", ">", ">=" })
        if (Is(Token::Operator, o))
          op = o;
      if (op.empty() && Is(Token::Name, "in"))
        op = "in";
      else if (op.empty() && Is(Token::Name, "not") && Is(Token::Name, "in", 1))
        op = "not in";
      else if (op.empty() && Is(Token::Name, "is"))
        op = Is(Token::Name, "not", 1) ? "is not" : "is";
      if (op.empty())
        return result;
      m_Pos += (op == "not in" || op == "is not") ? 2 : 1;
      if (first)
        result = ev ? json(true) : json();
      json right = Sum(live);
      if (live && !PythonCompare(op, value, right))
      {
        live = false; // a < b < c stops at the first false comparison
        result = false;
      }
      value = std::move(right);
    }
  }

  json
  Sum(bool ev)
  {
    json value = Term(ev);
    while (Is(Token::Operator, "+") || Is(Token::Operator, "-"))
    {
      const std::string op = m_Tokens[m_Pos++].text;
      json              right = Term(ev);
      if (ev)
        value = Charge(PythonBinary(op, value, right));
    }
    return value;
  }

  json
  Term(bool ev)
  {
    json value = Unary(ev);
    while (Is(Token::Operator, "*") || Is(Token::Operator, "/") || Is(Token::Operator, "//") ||
           Is(Token::Operator, "%"))
    {
      const std::string op = m_Tokens[m_Pos++].text;
      json              right = Unary(ev);
      if (ev)
        value = Charge(PythonBinary(op, value, right));
    }
    return value;
  }

  json
  Unary(bool ev)
  {
    if (Is(Token::Operator, "-") || Is(Token::Operator, "+"))
    {
      const Nested      nested(m_Depth);
      const std::string op = m_Tokens[m_Pos++].text;
      const json        value = Unary(ev);
      return ev ? PythonUnary(op, value) : json();
    }
    return Power(ev);
  }

  json
  Power(bool ev)
  {
    const json base = Primary(ev);
    if (!Accept(Token::Operator, "**"))
      return base;
    const Nested nested(m_Depth);
    const json   exponent = Unary(ev);
    return ev ? PythonBinary("**", base, exponent) : json();
  }

  json
  Primary(bool ev)
  {
    json value = Atom(ev);
    while (Accept(Token::Operator, "["))
    {
      json parts[3];
      bool slice = false;
      bool hasIndex = false;
      if (!Is(Token::Operator, ":"))
      {
        parts[0] = Expression(ev);
        hasIndex = true;
      }
      if (Accept(Token::Operator, ":"))
      {
        slice = true;
        if (!Is(Token::Operator, ":") && !Is(Token::Operator, "]"))
          parts[1] = Expression(ev);
        if (Accept(Token::Operator, ":") && !Is(Token::Operator, "]"))
          parts[2] = Expression(ev);
      }
      if (!slice && !hasIndex)
        Unexpected();
      Expect(Token::Operator, "]"); // also refuses x[1, 2] (numpy indexing)
      if (ev)
        value = Charge(slice ? PythonSlice(value, parts[0], parts[1], parts[2]) : PythonIndex(value, parts[0]));
    }
    if (Is(Token::Operator, ".") || Is(Token::Operator, "("))
      Unexpected(); // attributes and calls of values: Python objects MedSeg does not have
    return value;
  }

  json
  Atom(bool ev)
  {
    const Token & t = Peek();
    ++m_Pos;
    switch (t.kind)
    {
      case Token::Number:
        return t.number;
      case Token::String:
      {
        std::string text = t.text;
        while (Peek().kind == Token::String) // 'a' 'b' is 'ab'
          text += m_Tokens[m_Pos++].text;
        return text;
      }
      case Token::Reference:
      {
        auto found = m_References.find(t.text);
        if (found == m_References.end())
          found = m_References.emplace(t.text, m_Reference(t.text)).first;
        return ev ? Charge(found->second) : json();
      }
      case Token::Operator:
        if (t.text == "(" || t.text == "[")
          return Sequence(ev, t.text == "(" ? ")" : "]", t.text == "(");
        break;
      case Token::Name:
        if (t.text == "True" || t.text == "False")
          return t.text == "True";
        if (t.text == "None")
          return nullptr;
        if (t.text == "os")
        {
          for (const char * part : { ".", "path", ".", "join" })
            Expect(*part == '.' ? Token::Operator : Token::Name, part);
          return Call("os.path.join", ev);
        }
        if (t.text == "monai" && Is(Token::Operator, ".") && Is(Token::Name, "utils", 1) && Is(Token::Operator, ".", 2) &&
            Is(Token::Name, "CommonKeys", 3) && Is(Token::Operator, ".", 4))
        {
          // monai.utils.CommonKeys: the key names the Zoo's templates refer to, plain strings.
          static const std::map<std::string, std::string> keys = {
            { "IMAGE", "image" }, { "LABEL", "label" }, { "PRED", "pred" }, { "LOSS", "loss" }, { "METADATA", "metadata" }
          };
          const auto found = m_Pos + 5 < m_Tokens.size() ? keys.find(m_Tokens[m_Pos + 5].text) : keys.end();
          if (found != keys.end())
          {
            m_Pos += 6;
            return found->second;
          }
        }
        if (IsPythonBuiltin(t.text) && Is(Token::Operator, "("))
          return Call(t.text, ev);
        break;
      case Token::End:
        break;
    }
    --m_Pos;
    Unexpected();
  }

  /** A list `[a, b]`, a tuple `(a, b)` / `()` or a parenthesised expression `(a)`. */
  json
  Sequence(bool ev, const char * close, bool parenthesis)
  {
    json items = json::array();
    bool comma = false;
    while (!Accept(Token::Operator, close))
    {
      items.push_back(Expression(ev));
      if (Accept(Token::Operator, ","))
        comma = true;
      else if (!Is(Token::Operator, close))
        Unexpected(); // a comprehension, a generator
    }
    if (parenthesis && !comma && items.size() == 1)
      return items[0];
    return ev ? Charge(std::move(items)) : json();
  }

  json
  Call(const std::string & name, bool ev)
  {
    Expect(Token::Operator, "(");
    std::vector<json> args;
    while (!Accept(Token::Operator, ")"))
    {
      if (Peek().kind == Token::Name && Is(Token::Operator, "=", 1))
        Refuse("keyword arguments");
      args.push_back(Expression(ev));
      if (!Accept(Token::Operator, ",") && !Is(Token::Operator, ")"))
        Unexpected();
    }
    return ev ? Charge(PythonCall(name, args)) : json();
  }

  std::vector<Token>             m_Tokens;
  size_t                         m_Pos = 0;
  int                            m_Depth = 0;
  size_t                         m_Work = 0;
  const MONAIReferenceFunction & m_Reference;
  std::map<std::string, json>    m_References;
};

} // namespace

json
EvaluateMONAIExpression(const std::string & code, const MONAIReferenceFunction & reference)
{
  Evaluator evaluator(Lex(code), reference);
  return evaluator.Run();
}

} // namespace detail
} // namespace medseg
