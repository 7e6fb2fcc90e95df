// The one list of metrics (common/metric_list.h): names unique and well-formed, docs/metrics.md
// listing exactly its rows, and /metrics taking TYPE and HELP from it.
#include "common/metric_list.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "common/metrics.h"

namespace muster::metrics {
namespace {

TEST(MetricListTest, NamesAreUniqueAndWellFormed) {
  std::set<std::string_view> names;
  const std::regex name("muster_[a-z0-9_]+");
  for (const MetricInfo& m : metric_list()) {
    EXPECT_TRUE(names.insert(m.name).second) << m.name << " twice";
    EXPECT_TRUE(std::regex_match(std::string(m.name), name)) << m.name;
    EXPECT_TRUE(m.component == "serve" || m.component == "sd") << m.name;
    EXPECT_TRUE(m.type == "counter" || m.type == "gauge" || m.type == "histogram" ||
                m.type == "summary")
        << m.name;
    EXPECT_EQ(m.type == "counter", m.name.ends_with("_total")) << m.name;
    EXPECT_FALSE(m.help.empty()) << m.name;
    EXPECT_EQ(m.help.find('\n'), std::string_view::npos) << m.name;
  }
}

// docs/metrics.md: a row "| `name` | type | `a`, `b` | help |" per metric, under "## muster
// serve" or "## muster sd", in the list's order.
TEST(MetricListTest, TheDocsListExactlyTheseMetrics) {
  std::ifstream in(std::string(MUSTER_SOURCE_DIR) + "/docs/metrics.md");
  ASSERT_TRUE(in) << "docs/metrics.md";
  std::string line, component;
  std::vector<std::string> documented;
  const std::regex row(R"(^\| `([a-z0-9_]+)` \| ([a-z]+) \| ([^|]*) \| (.*) \|$)");
  while (std::getline(in, line)) {
    if (line == "## muster serve") component = "serve";
    if (line == "## muster sd") component = "sd";
    std::smatch m;
    if (!std::regex_match(line, m, row)) continue;
    std::string labels = std::regex_replace(m[3].str(), std::regex("[` ]"), "");
    std::string help = std::regex_replace(m[4].str(), std::regex(R"(\\\|)"), "|");
    documented.push_back(component + " " + m[1].str() + " " + m[2].str() + " " + labels + " " +
                         help);
  }
  std::vector<std::string> listed;
  for (const MetricInfo& m : metric_list()) {
    listed.push_back(std::string(m.component) + " " + std::string(m.name) + " " +
                     std::string(m.type) + " " + std::string(m.labels) + " " + std::string(m.help));
  }
  EXPECT_EQ(documented, listed);
}

TEST(MetricListTest, FamiliesTakeTheirTypeAndHelpFromTheList) {
  TextWriter w;
  w.family("muster_instances");
  w.family("muster_no_such_metric");
  EXPECT_EQ(w.take(),
            "# HELP muster_instances Instances registered on this node.\n"
            "# TYPE muster_instances gauge\n"
            "# HELP muster_no_such_metric (not in common/metric_list.cpp)\n"
            "# TYPE muster_no_such_metric untyped\n");
}

}  // namespace
}  // namespace muster::metrics
