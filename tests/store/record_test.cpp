// The framing of the data directory's records (store/record.h): intact records come back in
// order; a cut-off end, a flipped byte, garbage between records and an absurd length cost only
// the records they touch, and are counted.
#include "store/record.h"

#include <gtest/gtest.h>

#include <vector>

namespace muster::store {
namespace {

std::vector<std::string> payloads(std::string_view data, ReadReport* report = nullptr) {
  std::vector<std::string> out;
  const ReadReport r =
      read_records(data, [&](const Record& rec) { out.push_back(std::string(rec.payload)); });
  if (report != nullptr) *report = r;
  return out;
}

std::string three() {
  std::string data;
  append_record(data, RecordType::kStored, "{\"a\":1}");
  append_record(data, RecordType::kRemoved, "{\"b\":2}");
  append_record(data, RecordType::kEnd, "");
  return data;
}

TEST(StoreRecord, RoundTrip) {
  ReadReport r;
  std::vector<RecordType> types;
  read_records(three(), [&](const Record& rec) { types.push_back(rec.type); });
  EXPECT_EQ(types,
            (std::vector<RecordType>{RecordType::kStored, RecordType::kRemoved, RecordType::kEnd}));
  EXPECT_EQ(payloads(three(), &r), (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", ""}));
  EXPECT_EQ(r.records, 3u);
  EXPECT_EQ(r.damaged, 0u);
  EXPECT_FALSE(r.truncated);
}

TEST(StoreRecord, ACutOffEndIsTruncation) {
  const std::string data = three();
  for (size_t cut = 1; cut < 13 + 7; ++cut) {  // inside the second record's frame or payload
    ReadReport r;
    const std::string first_two = data.substr(0, data.size() - 13);  // without the end record
    const auto got = payloads(std::string_view(first_two).substr(0, first_two.size() - cut), &r);
    EXPECT_EQ(got, (std::vector<std::string>{"{\"a\":1}"})) << cut;
    EXPECT_TRUE(r.truncated || r.damaged == 1) << cut;
  }
}

TEST(StoreRecord, AFlippedByteCostsOneRecord) {
  std::string data = three();
  data[13 + 3] ^= 0x20;  // inside the first payload
  ReadReport r;
  EXPECT_EQ(payloads(data, &r), (std::vector<std::string>{"{\"b\":2}", ""}));
  EXPECT_EQ(r.damaged, 1u);
  EXPECT_EQ(r.skipped_bytes, 13u + 7u);
}

// Issue 27.8: one flipped byte in the first record's length made it run past the end, read as a
// write cut short: nothing after it was read (0 of 200 instances restored).
TEST(StoreRecord, ALengthRunningPastTheEndWithIntactRecordsAfterItCostsOneRecord) {
  std::string data = three();
  data[5] = static_cast<char>(0x40);  // the first record's length: 7 becomes 16,391
  ReadReport r;
  EXPECT_EQ(payloads(data, &r), (std::vector<std::string>{"{\"b\":2}", ""}));
  EXPECT_EQ(r.damaged, 1u);
  EXPECT_FALSE(r.truncated);
  // The same length on the last record, with nothing after it, is still a write cut short.
  std::string cut;
  append_record(cut, RecordType::kStored, "{\"a\":1}");
  const size_t last = cut.size();
  append_record(cut, RecordType::kStored, "{\"c\":3}");
  cut[last + 5] = static_cast<char>(0x40);
  EXPECT_EQ(payloads(cut, &r), (std::vector<std::string>{"{\"a\":1}"}));
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.damaged, 0u);
}

TEST(StoreRecord, GarbageAndAbsurdLengthsAreSkipped) {
  std::string data = "garbage before";
  std::string bad;
  append_record(bad, RecordType::kStored, "x");
  bad[4] = '\xff';  // a length of about 4 GiB
  bad[7] = '\x7f';
  data += bad + "MREC" + three() + "MRE";
  ReadReport r;
  EXPECT_EQ(payloads(data, &r), (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", ""}));
  EXPECT_EQ(r.records, 3u);
  EXPECT_GE(r.damaged, 2u);
  std::string unknown;
  append_record(unknown, RecordType::kStored, "y");
  unknown[12] = 'Z';  // a type no writer writes
  EXPECT_TRUE(payloads(unknown).empty());
}

}  // namespace
}  // namespace muster::store
