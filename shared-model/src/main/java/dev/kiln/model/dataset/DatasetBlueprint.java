package dev.kiln.model.dataset;

import java.util.List;

/** A validated, resolved {@code [[datasets]]} entry: its parameters and its subsets in configured order. */
public record DatasetBlueprint(DatasetParams params, List<SubsetParams> subsets) {
    public DatasetBlueprint {
        subsets = List.copyOf(subsets);
    }

    public DatasetKind kind() {
        return params.kind();
    }
}
