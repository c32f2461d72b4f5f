// Reading fields of Kubernetes objects held as JSON, tolerant of absent fields as
// kubectl's printers are: shared by sluice-kube's text output and the demo cluster's
// tables.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace sluice::kube {

// The field at a JSON pointer as text ("" when absent; non-strings dumped).
std::string text_at(const nlohmann::json& object, const char* pointer);
// The integer at a JSON pointer, 0 when absent or not an integer.
long long number_at(const nlohmann::json& object, const char* pointer);
// The STATUS kubectl shows for a pod: Terminating, a container's waiting or
// terminated reason (CrashLoopBackOff, ...), else the phase.
std::string pod_status(const nlohmann::json& pod);

}  // namespace sluice::kube
