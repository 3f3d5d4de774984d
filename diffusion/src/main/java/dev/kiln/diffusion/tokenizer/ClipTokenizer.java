package dev.kiln.diffusion.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * CLIP's byte-level BPE tokenizer (the one SD 1.x and 2.x share), read from {@code vocab.json} + {@code merges.txt}
 * or a Hugging Face {@code tokenizer.json}, plus the 77-token layouts and sd-scripts' long-prompt chunking.
 *
 * <p>Text goes through {@link ClipTextCleaner}, CLIP's pre-tokenizer pattern, then BPE with {@code </w>} marking
 * word ends. The pad id is per model: SD1 pads with EOS (49407), SD2 with 0 ({@code !}).
 */
public final class ClipTokenizer {

    /** Tokens per sequence the CLIP text encoder sees ({@code model_max_length}). */
    public static final int CONTEXT_LENGTH = 77;
    /** Prompt tokens per 77-token chunk (the rest is BOS and EOS). */
    public static final int CHUNK_TOKENS = CONTEXT_LENGTH - 2;
    public static final String BOS_TOKEN = "<|startoftext|>";
    public static final String EOS_TOKEN = "<|endoftext|>";
    /** Pad id argument meaning "pad with the vocabulary's EOS id" (SD 1.x). */
    public static final int PAD_WITH_EOS = -1;

    private static final String RESOURCE_DIR = "/dev/kiln/diffusion/tokenizer/";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern PRE_TOKENIZER = Pattern.compile(
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|\\p{L}+|\\p{N}|[^\\s\\p{L}\\p{N}]+",
            Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE);
    private static final int CACHE_LIMIT = 50_000;
    private static final String[] BYTE_TO_UNICODE = byteToUnicode();

    private final Map<String, Integer> vocab;
    private final String[] idToToken;
    private final Map<String, Integer> mergeRanks;
    private final int bosId;
    private final int eosId;
    private final int padId;
    private final boolean padTokenSplits;
    /** transformers' added tokens (Textual Inversion), longest first: matched in the raw text before BPE. */
    private final List<String> addedTokens;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    private ClipTokenizer(Map<String, Integer> vocab, Map<String, Integer> mergeRanks, int padId, String source) {
        this(vocab, mergeRanks, padId, false, source);
    }

    private ClipTokenizer(Map<String, Integer> vocab, Map<String, Integer> mergeRanks, int padId,
                          boolean padTokenSplits, String source) {
        this(vocab, mergeRanks, padId, padTokenSplits, List.of(), source);
    }

    private ClipTokenizer(Map<String, Integer> vocab, Map<String, Integer> mergeRanks, int padId,
                          boolean padTokenSplits, List<String> addedTokens, String source) {
        this.padTokenSplits = padTokenSplits;
        this.addedTokens = addedTokens;
        this.vocab = vocab;
        this.mergeRanks = mergeRanks;
        Integer bos = vocab.get(BOS_TOKEN);
        Integer eos = vocab.get(EOS_TOKEN);
        if (bos == null || eos == null) {
            throw new IllegalArgumentException(source + ": vocabulary lacks " + BOS_TOKEN + " or " + EOS_TOKEN);
        }
        this.bosId = bos;
        this.eosId = eos;
        int max = vocab.values().stream().mapToInt(Integer::intValue).max().orElse(0);
        if (padId == PAD_WITH_EOS) {
            padId = eos;
        }
        if (padId < 0 || padId > max) {
            throw new IllegalArgumentException(source + ": pad id " + padId + " is not in the vocabulary");
        }
        this.padId = padId;
        this.idToToken = new String[max + 1];
        vocab.forEach((token, id) -> idToToken[id] = token);
    }

    /** The CLIP vocabulary shipped with Kiln, padding with EOS as SD 1.x does. */
    public static ClipTokenizer sd1() {
        return DefaultVocabulary.INSTANCE.withPadId(DefaultVocabulary.INSTANCE.eosId);
    }

    /** The CLIP vocabulary shipped with Kiln, padding with 0 as SD 2.x (OpenCLIP) does. */
    public static ClipTokenizer sd2() {
        return DefaultVocabulary.INSTANCE.withPadId(0);
    }

    private static final class DefaultVocabulary {
        static final ClipTokenizer INSTANCE = loadDefault();

        private static ClipTokenizer loadDefault() {
            try (InputStream vocab = resource("vocab.json"); InputStream merges = resource("merges.txt")) {
                return new ClipTokenizer(readVocab(vocab, "vocab.json"), readMerges(merges), PAD_WITH_EOS,
                        "built-in CLIP vocabulary");
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the built-in CLIP vocabulary", e);
            }
        }

        private static InputStream resource(String name) {
            InputStream in = ClipTokenizer.class.getResourceAsStream(RESOURCE_DIR + name);
            if (in == null) {
                throw new IllegalStateException("missing class-path resource " + RESOURCE_DIR + name);
            }
            return in;
        }
    }

    /** Reads {@code vocab.json} and {@code merges.txt} (Hugging Face CLIPTokenizer files); see {@link #PAD_WITH_EOS}. */
    public static ClipTokenizer fromFiles(Path vocabJson, Path mergesTxt, int padId) {
        try (InputStream vocab = Files.newInputStream(vocabJson); InputStream merges = Files.newInputStream(mergesTxt)) {
            return new ClipTokenizer(readVocab(vocab, vocabJson.toString()), readMerges(merges), padId,
                    vocabJson.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read tokenizer files " + vocabJson + ", " + mergesTxt, e);
        }
    }

    /** Reads a Hugging Face {@code tokenizer.json} with a BPE model (merges as strings or pairs). */
    public static ClipTokenizer fromTokenizerJson(Path tokenizerJson, int padId) {
        JsonNode root;
        try {
            root = JSON.readTree(tokenizerJson.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + tokenizerJson, e);
        }
        JsonNode model = root.path("model");
        if (!model.path("vocab").isObject() || !model.path("merges").isArray()) {
            throw new IllegalArgumentException(tokenizerJson + ": model.vocab / model.merges missing (not a BPE tokenizer)");
        }
        Map<String, Integer> vocab = new HashMap<>();
        model.path("vocab").properties().forEach(e -> vocab.put(e.getKey(), e.getValue().asInt()));
        for (JsonNode added : root.path("added_tokens")) {
            vocab.put(added.path("content").asText(), added.path("id").asInt());
        }
        Map<String, Integer> ranks = new HashMap<>();
        int rank = 0;
        for (JsonNode merge : model.path("merges")) {
            String pair = merge.isArray() ? merge.get(0).asText() + " " + merge.get(1).asText() : merge.asText();
            ranks.putIfAbsent(pair, rank++);
        }
        return new ClipTokenizer(vocab, ranks, padId, tokenizerJson.toString());
    }

    /**
     * Reads a model's tokenizer folder (diffusers {@code tokenizer/}): {@code vocab.json} + {@code merges.txt}, else
     * {@code tokenizer.json}; the pad token comes from {@code special_tokens_map.json} or {@code tokenizer_config.json}
     * (EOS when neither names one).
     */
    public static ClipTokenizer fromFolder(Path folder) {
        ClipTokenizer tokenizer;
        if (Files.isRegularFile(folder.resolve("vocab.json")) && Files.isRegularFile(folder.resolve("merges.txt"))) {
            tokenizer = fromFiles(folder.resolve("vocab.json"), folder.resolve("merges.txt"), PAD_WITH_EOS);
        } else if (Files.isRegularFile(folder.resolve("tokenizer.json"))) {
            tokenizer = fromTokenizerJson(folder.resolve("tokenizer.json"), PAD_WITH_EOS);
        } else {
            throw new IllegalArgumentException(folder + ": no vocab.json + merges.txt or tokenizer.json");
        }
        String padToken = null;
        for (String config : List.of("special_tokens_map.json", "tokenizer_config.json")) {
            Path file = folder.resolve(config);
            if (padToken == null && Files.isRegularFile(file)) {
                try {
                    JsonNode pad = JSON.readTree(file.toFile()).path("pad_token");
                    padToken = pad.isTextual() ? pad.asText() : pad.path("content").isTextual()
                            ? pad.path("content").asText() : null;
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot read " + file, e);
                }
            }
        }
        if (padToken == null) {
            return tokenizer.withPadId(tokenizer.eosId);
        }
        Integer pad = tokenizer.vocab.get(padToken);
        if (pad == null) {
            throw new IllegalArgumentException(folder + ": pad_token \"" + padToken + "\" is not in the vocabulary");
        }
        return tokenizer.withPadId(pad);
    }

    /** The same vocabulary with another pad id. */
    public ClipTokenizer withPadId(int newPadId) {
        if (newPadId == padId) {
            return this;
        }
        return new ClipTokenizer(vocab, mergeRanks, newPadId, padTokenSplits, addedTokens, "tokenizer");
    }

    /**
     * A copy with transformers' {@code add_tokens(tokens)}: token i gets id {@code firstId + i}, and every occurrence
     * of a token in a text (case-sensitive, anywhere, the longest token first) becomes that id before the rest is
     * cleaned and split into BPE pieces.
     *
     * @throws IllegalArgumentException when a token is already in the vocabulary (sd-scripts refuses that token_string)
     *                                  or an id below {@code firstId} is taken
     */
    public ClipTokenizer withAddedTokens(List<String> tokens, int firstId) {
        if (firstId < idToToken.length) {
            throw new IllegalArgumentException("added token ids must follow the vocabulary's " + idToToken.length
                    + " ids, got " + firstId);
        }
        Map<String, Integer> extended = new java.util.HashMap<>(vocab);
        List<String> added = new ArrayList<>(addedTokens);
        for (int i = 0; i < tokens.size(); i++) {
            String token = tokens.get(i);
            if (token.isEmpty() || vocab.containsKey(token) || added.contains(token)) {
                throw new IllegalArgumentException("the tokenizer already has the token '" + token
                        + "'; use another token_string");
            }
            extended.put(token, firstId + i);
            added.add(token);
        }
        added.sort(java.util.Comparator.comparingInt(String::length).reversed());
        return new ClipTokenizer(extended, mergeRanks, padId, padTokenSplits, List.copyOf(added), "tokenizer");
    }

    /** The id of an added token or vocabulary entry, or null. */
    public Integer id(String token) {
        return vocab.get(token);
    }

    /**
     * A copy that treats the pad token's text as a special token, as transformers' CLIPTokenizer does with the SD 2.x
     * tokenizer folder ({@code pad_token "!"}): the text is cut at every occurrence and each becomes a lone pad id
     * (diffusers issue #4153; kohya's SD2 training tokenizes this way). OpenCLIP, and this class by default, do not.
     */
    public ClipTokenizer withPadTokenAsSpecial() {
        return new ClipTokenizer(vocab, mergeRanks, padId, true, addedTokens, "tokenizer");
    }

    public int bosId() {
        return bosId;
    }

    public int eosId() {
        return eosId;
    }

    public int padId() {
        return padId;
    }

    public int vocabSize() {
        return idToToken.length;
    }

    /** The vocabulary string of {@code id} (e.g. {@code cat</w>}). */
    public String token(int id) {
        if (id < 0 || id >= idToToken.length || idToToken[id] == null) {
            throw new IllegalArgumentException("token id " + id + " is not in the vocabulary");
        }
        return idToToken[id];
    }

    /** Token ids of {@code text}: no BOS/EOS, no truncation. */
    public int[] encode(String text) {
        if (addedTokens.isEmpty()) {
            return encodeSplittingPad(text);
        }
        List<Integer> ids = new ArrayList<>();
        int from = 0;
        int i = 0;
        while (i < text.length()) {
            String match = null;
            for (String token : addedTokens) {
                if (text.startsWith(token, i)) {
                    match = token;
                    break;
                }
            }
            if (match == null) {
                i++;
                continue;
            }
            for (int id : encodeSplittingPad(text.substring(from, i))) {
                ids.add(id);
            }
            ids.add(vocab.get(match));
            i += match.length();
            from = i;
        }
        for (int id : encodeSplittingPad(text.substring(from))) {
            ids.add(id);
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    private int[] encodeSplittingPad(String text) {
        String padText = idToToken[padId];
        if (!padTokenSplits || padId == eosId || padText == null || padText.isEmpty()) {
            return encodeText(text);
        }
        List<Integer> ids = new ArrayList<>();
        int from = 0;
        while (true) {
            int at = text.indexOf(padText, from);
            for (int id : encodeText(text.substring(from, at < 0 ? text.length() : at))) {
                ids.add(id);
            }
            if (at < 0) {
                break;
            }
            ids.add(padId);
            from = at + padText.length();
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    private int[] encodeText(String text) {
        String normalized = ClipTextCleaner.normalize(text);
        List<Integer> ids = new ArrayList<>();
        Matcher m = PRE_TOKENIZER.matcher(normalized);
        while (m.find()) {
            for (int id : encodePiece(m.group())) {
                ids.add(id);
            }
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * The ids sd-scripts feeds the text encoder for one caption: {@code [BOS] + first (maxLength-2) ids + [EOS] + pad}
     * with {@code maxLength = maxTokenLength + 2}, cut into chunks of 77 (see {@link TokenChunks}).
     *
     * @param maxTokenLength 75, 150 or 225 (sd-scripts' {@code --max_token_length}; 75 when not set)
     * @return {@code [chunks][77]}
     */
    public long[][] tokenize(String text, int maxTokenLength) {
        return TokenChunks.chunk(encode(text), maxTokenLength, bosId, eosId, padId);
    }

    /** {@link #tokenize} of a single 77-token sequence. */
    public long[] tokenize77(String text) {
        return tokenize(text, CHUNK_TOKENS)[0];
    }

    /**
     * sd-scripts' weighted tokenization ({@code --weighted_captions}, and the sampler's prompt syntax): the prompt is
     * parsed by {@link PromptWeighting}, each run tokenized, and the per-token weights laid out beside the ids.
     */
    public TokenChunks.Weighted tokenizeWeighted(String prompt, int maxTokenLength) {
        List<Integer> ids = new ArrayList<>();
        List<Float> weights = new ArrayList<>();
        int limit = TokenChunks.checkMaxTokenLength(maxTokenLength);
        for (PromptWeighting.Segment segment : PromptWeighting.parse(prompt)) {
            for (int id : encode(segment.text())) {
                ids.add(id);
                weights.add(segment.weight());
            }
            if (ids.size() > limit) {
                break;
            }
        }
        int[] idArray = ids.stream().mapToInt(Integer::intValue).toArray();
        float[] weightArray = new float[weights.size()];
        for (int i = 0; i < weightArray.length; i++) {
            weightArray[i] = weights.get(i);
        }
        return TokenChunks.chunkWeighted(idArray, weightArray, maxTokenLength, bosId, eosId, padId);
    }

    private int[] encodePiece(String piece) {
        Integer special = vocab.get(piece);
        if (piece.equals(BOS_TOKEN) || piece.equals(EOS_TOKEN)) {
            return new int[] {special};
        }
        int[] cached = cache.get(piece);
        if (cached != null) {
            return cached;
        }
        List<String> symbols = new ArrayList<>();
        for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
            symbols.add(BYTE_TO_UNICODE[b & 0xff]);
        }
        int last = symbols.size() - 1;
        symbols.set(last, symbols.get(last) + "</w>");
        mergeAll(symbols);
        int[] ids = new int[symbols.size()];
        for (int i = 0; i < ids.length; i++) {
            Integer id = vocab.get(symbols.get(i));
            if (id == null) {
                throw new IllegalStateException("BPE symbol \"" + symbols.get(i) + "\" is not in the vocabulary");
            }
            ids[i] = id;
        }
        if (cache.size() < CACHE_LIMIT) {
            cache.put(piece, ids);
        }
        return ids;
    }

    /** Repeatedly merges every occurrence of the lowest-ranked adjacent pair until none is in the merge list. */
    private void mergeAll(List<String> symbols) {
        while (symbols.size() > 1) {
            int bestRank = Integer.MAX_VALUE;
            String bestLeft = null;
            String bestRight = null;
            for (int i = 0; i + 1 < symbols.size(); i++) {
                Integer rank = mergeRanks.get(symbols.get(i) + " " + symbols.get(i + 1));
                if (rank != null && rank < bestRank) {
                    bestRank = rank;
                    bestLeft = symbols.get(i);
                    bestRight = symbols.get(i + 1);
                }
            }
            if (bestLeft == null) {
                return;
            }
            List<String> merged = new ArrayList<>(symbols.size());
            for (int i = 0; i < symbols.size(); i++) {
                if (i + 1 < symbols.size() && symbols.get(i).equals(bestLeft) && symbols.get(i + 1).equals(bestRight)) {
                    merged.add(bestLeft + bestRight);
                    i++;
                } else {
                    merged.add(symbols.get(i));
                }
            }
            symbols.clear();
            symbols.addAll(merged);
        }
    }

    private static Map<String, Integer> readVocab(InputStream in, String source) throws IOException {
        JsonNode root = JSON.readTree(in);
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(source + ": vocabulary is not a JSON object");
        }
        Map<String, Integer> vocab = new HashMap<>(root.size() * 2);
        root.properties().forEach(e -> {
            if (!e.getValue().isInt() || e.getValue().asInt() < 0) {
                throw new IllegalArgumentException(source + ": id of \"" + e.getKey() + "\" is not a non-negative integer");
            }
            vocab.put(e.getKey(), e.getValue().asInt());
        });
        return vocab;
    }

    private static Map<String, Integer> readMerges(InputStream in) throws IOException {
        Map<String, Integer> ranks = new HashMap<>(100_000);
        BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        String line;
        int rank = 0;
        while ((line = reader.readLine()) != null) {
            if (line.startsWith("#version") || line.isBlank()) {
                continue;
            }
            ranks.putIfAbsent(line.strip(), rank++);
        }
        return ranks;
    }

    /** GPT-2/CLIP byte-to-unicode table: printable bytes map to themselves, the others to U+0100 onwards. */
    private static String[] byteToUnicode() {
        String[] table = new String[256];
        boolean[] printable = new boolean[256];
        for (int b = '!'; b <= '~'; b++) {
            printable[b] = true;
        }
        for (int b = 0xA1; b <= 0xAC; b++) {
            printable[b] = true;
        }
        for (int b = 0xAE; b <= 0xFF; b++) {
            printable[b] = true;
        }
        int next = 0;
        for (int b = 0; b < 256; b++) {
            table[b] = printable[b] ? String.valueOf((char) b) : String.valueOf((char) (256 + next++));
        }
        return table;
    }

    @Override
    public String toString() {
        return "ClipTokenizer[vocab=" + idToToken.length + ", bos=" + bosId + ", eos=" + eosId + ", pad=" + padId + "]";
    }
}
