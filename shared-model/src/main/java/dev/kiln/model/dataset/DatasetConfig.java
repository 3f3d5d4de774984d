package dev.kiln.model.dataset;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A validated dataset config: either explicit {@code [[datasets]]} (already resolved) or sd-scripts'
 * legacy command-line datasets ({@code train_data_dir} / {@code reg_data_dir} folders named
 * {@code <N>_<class tokens>}, or {@code in_json}), which need a folder listing to resolve.
 */
public final class DatasetConfig {
    private final List<DatasetBlueprint> datasets;
    private final Map<String, Object> general;
    private final Map<String, Object> arguments;
    private final DatasetConfigParser.Options options;

    private DatasetConfig(List<DatasetBlueprint> datasets, Map<String, Object> general, Map<String, Object> arguments,
            DatasetConfigParser.Options options) {
        this.datasets = datasets;
        this.general = general;
        this.arguments = arguments;
        this.options = options;
    }

    static DatasetConfig explicit(List<DatasetBlueprint> datasets) {
        return new DatasetConfig(List.copyOf(datasets), null, null, null);
    }

    static DatasetConfig legacy(Map<String, Object> general, Map<String, Object> arguments,
            DatasetConfigParser.Options options) {
        return new DatasetConfig(null, general, arguments, options);
    }

    /** True when the datasets come from {@code train_data_dir}/{@code reg_data_dir}/{@code in_json}. */
    public boolean isLegacy() {
        return datasets == null;
    }

    /** The resolved datasets of an explicit config. */
    public List<DatasetBlueprint> explicitDatasets() {
        if (datasets == null) {
            throw new IllegalStateException("a legacy dataset config needs a folder listing: use resolve(source)");
        }
        return datasets;
    }

    /**
     * The resolved datasets. A legacy config becomes one dataset, as train_network.py builds it: with
     * {@code in_json} one fine-tuning subset, otherwise one DreamBooth subset per folder of
     * {@code train_data_dir} (then {@code reg_data_dir}, as regularization) whose name is {@code <N>_<tokens>}
     * (config_util.generate_dreambooth_subsets_config_by_subdirs).
     */
    public List<DatasetBlueprint> resolve(DatasetSource source, List<String> warnings) {
        if (datasets != null) {
            return datasets;
        }
        List<Map<String, Object>> subsets = new ArrayList<>();
        Object inJson = arguments.get("in_json");
        Object trainDir = arguments.get("train_data_dir");
        if (inJson != null) {
            if (trainDir != null) {
                subsets.add(Map.of("image_dir", trainDir, "metadata_file", inJson));
            } else {
                subsets.add(Map.of("metadata_file", inJson));
            }
        } else {
            String regDir = (String) arguments.get("reg_data_dir");
            subsets.addAll(LegacyFolders.subsets((String) trainDir, false, regDir, source, warnings));
            subsets.addAll(LegacyFolders.subsets(regDir, true, null, source, warnings));
        }
        if (subsets.isEmpty()) {
            warnings.add("No data found: train_data_dir must be the parent of folders with images named"
                    + " <repeats>_<class tokens> (train_data_dir=" + trainDir + ")");
        }
        return DatasetConfigParser.resolve(general, List.of(Map.of("subsets", subsets)), arguments, options);
    }
}
