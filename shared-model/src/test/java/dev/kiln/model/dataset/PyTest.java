package dev.kiln.model.dataset;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The Python string semantics sd-scripts' rules depend on. */
class PyTest {
    @Test
    void splitKeepsEmptyPieces() {
        // "a, b,".split(",") == ['a', ' b', '']
        assertEquals(List.of("a", " b", ""), Py.split("a, b,", ","));
        assertEquals(List.of("", "x", ""), Py.split("|||x|||", "|||"));
    }

    @Test
    void stripRemovesPythonWhitespace() {
        assertEquals("tag", Py.strip("\u00a0\t tag \u3000\n"));
        assertEquals("\ufefftag", Py.strip("\ufefftag "), "a BOM is not whitespace");
    }

    @Test
    void readLinesUsesUniversalNewlines() {
        assertEquals(List.of("a", "b", "c"), Py.readLines("a\r\nb\rc\n"));
        assertEquals(List.of(""), Py.readLines("\n"));
        assertEquals(List.of(), Py.readLines(""));
    }

    @Test
    void ordersByCodePointLikePython() {
        // U+1F600 sorts after U+FF5E in Python although its UTF-16 high surrogate is smaller
        assertTrue(Py.compareCodePoints("a\uD83D\uDE00", "a\uFF5E") > 0);
        assertTrue("a\uD83D\uDE00".compareTo("a\uFF5E") < 0);
        assertTrue(Py.compareCodePoints("img10.png", "img2.png") < 0);
        assertTrue(Py.compareCodePoints("a", "ab") < 0);
        assertEquals(0, Py.compareCodePoints("x", "x"));
    }

    @Test
    void kohyaFolderNames() {
        // config_util.generate_dreambooth_subsets_config_by_subdirs examples (kohya-behaviour.md §1.6)
        assertEquals(new LegacyFolders.FolderName(10, "sks dog"), LegacyFolders.parse("10_sks dog"));
        assertEquals(new LegacyFolders.FolderName(5, "a_b"), LegacyFolders.parse("5_a_b"));
        assertEquals(new LegacyFolders.FolderName(3, ""), LegacyFolders.parse("3"));
        assertEquals(null, LegacyFolders.parse("abc_x"));
        assertEquals(null, LegacyFolders.parse("0_x"));
        assertEquals(null, LegacyFolders.parse("_x"));
    }

    @Test
    void sidecarCandidatesAndExtensions() {
        assertEquals(List.of("d/a.txt"), Captions.sidecarCandidates("d/a.png", ".txt"));
        assertEquals(List.of("d/p_0001_0002_0003_0004.txt", "d/p.txt"),
                Captions.sidecarCandidates("d/p_0001_0002_0003_0004.png", ".txt"));
        assertEquals(List.of("d/.hidden.txt"), Captions.sidecarCandidates("d/.hidden", ".txt"),
                "splitext ignores leading dots");
        assertTrue(ImageFiles.isImage("x.PnG"));
        assertTrue(ImageFiles.isImage("x.jpeg"));
        assertTrue(!ImageFiles.isImage("x.gif"));
    }
}
