// The demo cluster's sample data: a small incident worth diagnosing. In
// `production`, a rollout of checkout 2.5.0 forty-seven minutes ago kept the old
// PAYMENTS_URL variable, which 2.5.0 no longer reads, so every new pod crash-loops
// with a log line that says so; `staging` runs 2.5.0 with the new variable and is
// healthy; a report generator asks for more memory than any node has and stays
// Pending. A Secret holds a value that must never leave sluice-kube.
#pragma once

#include <string>
#include <vector>

#include "kube/demo-cluster/cluster_state.h"

namespace sluice::kube::demo {

std::vector<ImageBehaviour> demo_images();
void load_sample_data(ClusterState& state);

// The sample Secret's value, for tests that prove it never appears in any output.
inline constexpr const char* kSampleSecretValue = "sk-live-demo-4f8a2b9c7e1d";

}  // namespace sluice::kube::demo
