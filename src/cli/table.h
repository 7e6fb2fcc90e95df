#pragma once
// Human-readable output of the client subcommands: left-aligned columns wide enough for their
// longest cell. Threading: a plain value.
#include <ostream>
#include <string>
#include <vector>

namespace muster::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  size_t size() const { return rows_.size() - 1; }  // rows below the header
  void print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace muster::cli
