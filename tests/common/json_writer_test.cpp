#include "common/json_writer.h"

#include <gtest/gtest.h>

namespace muster {
namespace {

TEST(JsonWriter, EscapesWhatJsonRequires) {
  std::string out;
  json::append_string(out, std::string_view("a\"b\\c\n\t\x01\xe4\xb8\xad", 11));
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\t\\u0001\xe4\xb8\xad\"");
}

TEST(JsonWriter, Integers) {
  std::string out;
  json::append_int(out, -9223372036854775807LL - 1);
  out.push_back(' ');
  json::append_int(out, 1606990000000000001LL);
  EXPECT_EQ(out, "-9223372036854775808 1606990000000000001");
}

}  // namespace
}  // namespace muster
