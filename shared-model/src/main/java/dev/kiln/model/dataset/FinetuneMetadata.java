package dev.kiln.model.dataset;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * A fine-tuning metadata file as FineTuningDataset reads it: {@code .json} is an object
 * {@code {image_key: {"caption", "tags", "image_size"}}}, {@code .jsonl} has one object per line
 * {@code {"image_path", "caption", "tags", "image_size"}}.
 */
public final class FinetuneMetadata {
    private static final ObjectMapper JSON = new ObjectMapper();

    private FinetuneMetadata() {}

    /**
     * One entry.
     *
     * @param imageKey the key as written (a path, relative to image_dir unless absolute)
     * @param caption null when absent
     * @param tags null when absent
     * @param imageSize {width, height}, or null when absent
     */
    public record Entry(String imageKey, String caption, String tags, int[] imageSize) {}

    /** Parses a metadata file's text; errors name the file and the entry. */
    public static List<Entry> parse(String text, String fileName) {
        List<Entry> entries = new ArrayList<>();
        try {
            if (fileName.endsWith(".jsonl")) {
                int lineNo = 0;
                for (String line : Py.readLines(text)) {
                    lineNo++;
                    if (Py.strip(line).isEmpty()) {
                        continue;
                    }
                    JsonNode node = JSON.readTree(line);
                    String where = "line " + lineNo;
                    if (!node.isObject() || !node.path("image_path").isTextual()) {
                        throw new ConfigException(fileName, "image_path", where + ": expected an object with a string image_path");
                    }
                    JsonNode caption = node.get("caption");
                    entries.add(new Entry(node.get("image_path").asText(),
                            caption == null ? "" : string(caption, fileName, where, "caption"),
                            string(node.get("tags"), fileName, where, "tags"),
                            size(node.get("image_size"), fileName, where)));
                }
                return entries;
            }
            JsonNode root = JSON.readTree(text);
            if (root == null || !root.isObject()) {
                throw new ConfigException(fileName, null, "expected a JSON object {image path: {caption, tags}}");
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String where = "entry \"" + e.getKey() + "\"";
                if (!e.getValue().isObject()) {
                    throw new ConfigException(fileName, e.getKey(), "expected an object with caption and/or tags");
                }
                entries.add(new Entry(e.getKey(), string(e.getValue().get("caption"), fileName, where, "caption"),
                        string(e.getValue().get("tags"), fileName, where, "tags"),
                        size(e.getValue().get("image_size"), fileName, where)));
            }
            return entries;
        } catch (JsonProcessingException e) {
            throw new ConfigException(fileName, null, "invalid JSON: " + e.getOriginalMessage());
        }
    }

    private static String string(JsonNode node, String file, String where, String key) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isTextual()) {
            throw new ConfigException(file, key, where + ": expected a string");
        }
        return node.asText();
    }

    private static int[] size(JsonNode node, String file, String where) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isArray() || node.size() != 2 || !node.get(0).canConvertToInt() || !node.get(1).canConvertToInt()
                || !node.get(0).isIntegralNumber() || !node.get(1).isIntegralNumber()) {
            throw new ConfigException(file, "image_size", where + ": expected [width, height]");
        }
        return new int[] {node.get(0).asInt(), node.get(1).asInt()};
    }
}
