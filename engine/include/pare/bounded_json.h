// JSON from untrusted input (a safetensors header, the graph of a .pare file, a pruning config):
// parsed with its nesting bounded, and quoted in messages with its length bounded.
//
// nlohmann::json parses iteratively but copies, compares and prints values recursively, so a
// value nested 100,000 deep parses fine and then overflows the stack wherever it is copied or
// printed. parse_bounded_json refuses such input while parsing, before any value exists.
//
//   nlohmann::ordered_json header = pare::parse_bounded_json<nlohmann::ordered_json>(
//       text, "model.pare: the safetensors header");
//   // -> pare::Error "model.pare: the safetensors header nests deeper than 64 levels" for
//   //    [[[[...]]]], "model.pare: the safetensors header is not valid JSON: ..." for garbage.
//   PARE_CHECK(value.is_string(), "expected a string, got ", pare::json_excerpt(value));
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "pare/error.h"

namespace pare {

// Real pare files nest at most five levels (metadata -> graph -> nodes -> args -> list); 64
// leaves room for any honest writer and keeps every recursive use of the value shallow.
inline constexpr int kMaxJsonDepth = 64;

// Parses `text`; a pare::Error starting with `what` when it is not valid JSON or nests deeper
// than `max_depth` arrays/objects.
template <typename Json = nlohmann::json>
Json parse_bounded_json(std::string_view text, const std::string& what,
                        int max_depth = kMaxJsonDepth) {
  // `depth` counts the containers already open: 0 when the outermost one starts.
  auto refuse_deep_nesting = [&](int depth, typename Json::parse_event_t event, Json&) {
    if (depth >= max_depth &&
        (event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start))
      throw Error(str_cat(what, " nests deeper than ", max_depth, " levels"));
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), refuse_deep_nesting);
  } catch (const nlohmann::json::exception& error) {
    throw Error(str_cat(what, " is not valid JSON: ", error.what()));
  }
}

// `value` as compact JSON text for a message, cut to at most `max_chars` characters ("..." marks
// the cut). Only for values parse_bounded_json produced: printing recurses over the nesting.
template <typename Json>
std::string json_excerpt(const Json& value, size_t max_chars = 80) {
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > max_chars) text = text.substr(0, max_chars) + "...";
  return text;
}

}  // namespace pare
