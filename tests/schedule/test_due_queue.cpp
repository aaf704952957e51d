// The wake-up queue: one entry per key, replaced on re-arm, popped in due
// order with ties in key order.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "schedule/due_queue.hpp"

using livebot::schedule::DueQueue;
using Keys = std::vector<std::string>;

TEST_CASE("an empty queue has nothing due", "[due_queue]") {
  DueQueue q;
  CHECK(q.next_due() == std::nullopt);
  CHECK(q.pop_due(1'000'000).empty());
  q.disarm("nobody");
  CHECK(q.size() == 0);
}

TEST_CASE("arming again replaces the key's due time", "[due_queue]") {
  DueQueue q;
  q.arm("loc-a", 500);
  q.arm("loc-b", 300);
  CHECK(q.next_due() == 300);
  q.arm("loc-b", 900);  // later
  CHECK(q.next_due() == 500);
  CHECK(q.due("loc-b") == 900);
  q.arm("loc-a", 100);  // earlier
  CHECK(q.next_due() == 100);
  CHECK(q.size() == 2);
  CHECK(q.pop_due(1000) == Keys{"loc-a", "loc-b"});
  CHECK(q.size() == 0);
}

TEST_CASE("disarm removes the key and only it", "[due_queue]") {
  DueQueue q;
  q.arm("loc-a", 100);
  q.arm("loc-b", 200);
  q.disarm("loc-a");
  q.disarm("loc-a");
  CHECK(q.due("loc-a") == std::nullopt);
  CHECK(q.next_due() == 200);
  CHECK(q.pop_due(1000) == Keys{"loc-b"});
}

TEST_CASE("pop_due takes what is due at or before now, by time then key", "[due_queue]") {
  DueQueue q;
  q.arm("loc-c", 200);
  q.arm("loc-b", 200);
  q.arm("loc-d", 100);
  q.arm("loc-a", 300);
  q.arm("loc-e", 201);
  CHECK(q.pop_due(99).empty());
  CHECK(q.pop_due(200) == Keys{"loc-d", "loc-b", "loc-c"});
  CHECK(q.size() == 2);
  CHECK(q.next_due() == 201);
  // A popped key can be armed again.
  q.arm("loc-b", 250);
  CHECK(q.pop_due(300) == Keys{"loc-e", "loc-b", "loc-a"});
  CHECK(q.next_due() == std::nullopt);
}
