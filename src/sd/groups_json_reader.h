#pragma once
// Reads a file_sd / http_sd JSON document ([{"targets":[...],"labels":{...}}, ...]) as a stream:
// the text is handed over in pieces of any size and only the groups are kept, never the text nor
// a parsed tree, so a 1,000,000-group source costs what its groups cost. Go's strict rules, as
// parse_groups_json documents them; the first problem ends the read.
// Threading: one reader per document, used by one thread.
#include <boost/json/basic_parser.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "sd/target_group.h"

namespace muster::sd {

class GroupsJsonReader {
 public:
  GroupsJsonReader();
  ~GroupsJsonReader();
  GroupsJsonReader(const GroupsJsonReader&) = delete;
  GroupsJsonReader& operator=(const GroupsJsonReader&) = delete;

  // Takes the next piece of the document; false once the document is known to be bad.
  bool write(std::string_view piece);
  // The groups, or what is wrong with the document (also a document cut short).
  ParsedGroups finish();

 private:
  struct Handler;
  std::unique_ptr<boost::json::basic_parser<Handler>> parser_;
  std::string problem_;
};

}  // namespace muster::sd
