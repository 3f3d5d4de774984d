package dev.kiln.captioning.tagger;

import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The labels of a WD14 tagger, read from its {@code selected_tags.csv} (header {@code tag_id,name,category,count};
 * category 9 rating, 0 general, 4 character). Output score {@code i} belongs to data row {@code i}.
 */
public final class TagLabels {

    /** One CSV row: the tag as the model names it, and its category ({@code null} for categories sd-scripts ignores). */
    public record Label(String name, TagCategory category) {
    }

    private final Path file;
    private final List<Label> labels;

    private TagLabels(Path file, List<Label> labels) {
        this.file = file;
        this.labels = List.copyOf(labels);
    }

    /** Reads and validates the CSV; errors name the file and line. */
    public static TagLabels read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new TaggerException("tagger tags CSV not found: " + file);
        }
        CsvMapper mapper = new CsvMapper();
        mapper.enable(CsvParser.Feature.WRAP_AS_ARRAY);
        mapper.enable(CsvParser.Feature.SKIP_EMPTY_LINES);
        List<String[]> rows;
        try (MappingIterator<String[]> it = mapper.readerFor(String[].class).readValues(file.toFile())) {
            rows = it.readAll();
        } catch (IOException | RuntimeException e) {
            throw new TaggerException("tagger tags CSV " + file + " cannot be read as CSV: " + e.getMessage(), e);
        }
        if (rows.isEmpty()) {
            throw new TaggerException("tagger tags CSV " + file + " is empty (expected header tag_id,name,category,count)");
        }
        String[] header = rows.get(0);
        if (header.length < 3 || !"tag_id".equals(stripBom(header[0]).strip()) || !"name".equals(header[1].strip())
                || !"category".equals(header[2].strip())) {
            throw new TaggerException("tagger tags CSV " + file + ": header must start with tag_id,name,category but is "
                    + String.join(",", header));
        }
        List<Label> labels = new ArrayList<>();
        for (int i = 1; i < rows.size(); i++) {
            String[] row = rows.get(i);
            int line = i + 1;
            if (row.length < 3) {
                throw new TaggerException("tagger tags CSV " + file + " line " + line + ": expected at least 3 columns, got "
                        + row.length);
            }
            String name = row[1].strip();
            if (name.isEmpty()) {
                throw new TaggerException("tagger tags CSV " + file + " line " + line + ": empty tag name");
            }
            int code;
            try {
                code = Integer.parseInt(row[2].strip());
            } catch (NumberFormatException e) {
                throw new TaggerException("tagger tags CSV " + file + " line " + line + ": category '" + row[2]
                        + "' is not a number");
            }
            labels.add(new Label(name, TagCategory.ofCode(code)));
        }
        if (labels.isEmpty()) {
            throw new TaggerException("tagger tags CSV " + file + " has a header but no tags");
        }
        return new TagLabels(file, labels);
    }

    private static String stripBom(String s) {
        return s.startsWith("\uFEFF") ? s.substring(1) : s;
    }

    /** The CSV file these labels came from. */
    public Path file() {
        return file;
    }

    /** The labels in CSV (= model output) order. */
    public List<Label> labels() {
        return labels;
    }

    /** How many tags (data rows) there are: the model must output this many scores per image. */
    public int size() {
        return labels.size();
    }

    /**
     * The caption text of every label under these options, in sd-scripts' order of operations: character tags
     * expanded ({@code name_(series)} → {@code name<sep>series}), then underscores removed, then replacements.
     */
    public List<String> captionNames(TaggerOptions options) {
        List<String> names = new ArrayList<>(labels.size());
        for (Label label : labels) {
            String name = label.name();
            if (options.characterTagExpand() && label.category() == TagCategory.CHARACTER) {
                name = expandCharacterTag(name, options.captionSeparator());
            }
            if (options.removeUnderscore()) {
                name = removeUnderscore(name);
            }
            // sd-scripts means to do this, but at its HEAD a shadowed variable makes --tag_replacement a no-op
            // for selected_tags.csv models; Kiln applies the replacement as documented.
            name = options.tagReplacements().getOrDefault(name, name);
            names.add(name);
        }
        return names;
    }

    /** {@code chara_(costume)_(series)} → {@code chara_(costume)<sep>series}; tags not ending in ")" stay. */
    static String expandCharacterTag(String tag, String separator) {
        if (!tag.endsWith(")")) {
            return tag;
        }
        int open = tag.lastIndexOf('(');
        if (open < 0) {
            return tag;
        }
        String character = tag.substring(0, open);
        if (character.endsWith("_")) {
            character = character.substring(0, character.length() - 1);
        }
        String series = tag.substring(open + 1).replace(")", "");
        return character + separator + series;
    }

    /** Underscores become spaces, except in tags of 3 characters or fewer (kaomoji such as {@code ^_^}). */
    static String removeUnderscore(String tag) {
        return tag.length() > 3 ? tag.replace('_', ' ') : tag;
    }
}
