package dev.kiln.model.dataset;

/** sd-scripts' dataset classes that Kiln supports (ControlNet-style subsets are refused). */
public enum DatasetKind {
    /** Folders of images with sidecar captions or class tokens (DreamBoothDataset). */
    DREAMBOOTH("dreambooth"),
    /** A metadata JSON/JSONL file with captions and tags (FineTuningDataset). */
    FINETUNE("finetune");

    private final String jsonName;

    DatasetKind(String jsonName) {
        this.jsonName = jsonName;
    }

    /** The name used in plan JSON. */
    public String jsonName() {
        return jsonName;
    }
}
