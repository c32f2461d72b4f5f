// Server-side printing: the `Table` (meta.k8s.io/v1) that `kubectl get` asks for,
// with the columns the real API server prints for each resource type.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/demo-cluster/resource_types.h"
#include "kube/timestamps.h"

namespace sluice::kube::demo {

enum class TableObjects { none, metadata, full };

json make_table(const ResourceType& type, const std::vector<const json*>& objects, TableObjects include,
                Clock::time_point now, const std::string& resource_version);

}  // namespace sluice::kube::demo
