package dev.kiln.captioning.tagger;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading {@code selected_tags.csv} and the tag-text transforms, in sd-scripts' order. */
class TagLabelsTest {

    @TempDir
    Path dir;

    @Test
    void readsQuotedNamesAndCategories() throws IOException {
        Path csv = Files.writeString(dir.resolve("selected_tags.csv"), """
                tag_id,name,category,count
                9999999,general,9,807366
                1,"one, two",0,5
                2,hakurei_reimu,4,5
                3,touhou,3,5
                """);
        TagLabels labels = TagLabels.read(csv);
        assertEquals(List.of(new TagLabels.Label("general", TagCategory.RATING),
                new TagLabels.Label("one, two", TagCategory.GENERAL),
                new TagLabels.Label("hakurei_reimu", TagCategory.CHARACTER),
                new TagLabels.Label("touhou", null)), labels.labels());
    }

    @Test
    void expandsCharacterTagsOnTheLastParenthesis() {
        assertEquals("chara_(costume), series", TagLabels.expandCharacterTag("chara_(costume)_(series)", ", "));
        assertEquals("name|series", TagLabels.expandCharacterTag("name_(series)", "|"));
        assertEquals("plain_name", TagLabels.expandCharacterTag("plain_name", ", "));
    }

    @Test
    void removesUnderscoresOnlyFromTagsLongerThanThree() {
        assertEquals("long hair", TagLabels.removeUnderscore("long_hair"));
        assertEquals("^_^", TagLabels.removeUnderscore("^_^"));
        assertEquals("o_o", TagLabels.removeUnderscore("o_o"));
        assertEquals(">_<", TagLabels.removeUnderscore(">_<"));
        assertEquals("^ ^ b", TagLabels.removeUnderscore("^_^_b"));
    }

    @Test
    void parsesEscapedReplacementsInOrder() {
        assertEquals(Map.of("aa,bb", "AA,BB", "cc;dd", "CC;DD"),
                TaggerOptions.parseTagReplacements("aa\\,bb,AA\\,BB;cc\\;dd,CC\\;DD"));
        assertEquals(List.of("1girl", "1boy"), TaggerOptions.parseTagList("1girl, 1boy,", ", "));
    }
}
