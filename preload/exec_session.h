// The run a program makes on the model under the interposer: the platform's configuration from
// the environment `iommusim exec` sets (the same resolution as a scenario run: --config file,
// IOMMUSIM_IOTLB, defaults), and at the program's exit the statistics (--stats-json) and, under
// `iommusim exec`, the end-of-run summary. Only the process that started the program writes them:
// a forked child's copy of the model writes no statistics, summary or waves.
#pragma once

namespace iommusim::preload {

// Environment variables `iommusim exec` passes to the program (each optional).
inline constexpr const char* env_config = "IOMMUSIM_EXEC_CONFIG";          // --config FILE
inline constexpr const char* env_iotlb = "IOMMUSIM_EXEC_IOTLB";            // --iotlb KIND
inline constexpr const char* env_waves = "IOMMUSIM_EXEC_WAVES";            // --waves PATH (resolved)
inline constexpr const char* env_stats_json = "IOMMUSIM_EXEC_STATS_JSON";  // --stats-json PATH
inline constexpr const char* env_seed = "IOMMUSIM_EXEC_SEED";              // --seed N
inline constexpr const char* env_summary = "IOMMUSIM_EXEC_SUMMARY";        // "1": print the summary

// Configures the platform from the environment before the model's first file is opened.
void configure_platform_once();
// Counts one ioctl the model served (ok) or refused, for the summary.
void note_ioctl(bool ok);
// In a forked child: the parent's wave file and statistics are not the child's to write.
void forked_child_outputs_off();

}  // namespace iommusim::preload
