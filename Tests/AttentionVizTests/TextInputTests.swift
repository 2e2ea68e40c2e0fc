import Attention
import AttentionViz
import Testing

/// Text from outside: segmentation, escapes, validation, focus lookup, word aggregation.
@Suite struct TextInputTests {
    @Test func seedSentenceSplitsIntoTheSeedsTokens() {
        #expect(TextSegmentation.words(Array("How are you doing?".utf8)).map(\.label) == ["How", "are", "you", "doing", "?"])
        #expect(TextSegmentation.words(Array("naïve café".utf8)).map(\.label) == ["naïve", "café"], "UTF-8 words stay whole")
    }

    @Test func invalidBytesAreShownAsEscapes() throws {
        let bytes: [UInt8] = [0x61, 0xFF, 0x62, 0xC3, 0x0A, 0x07]
        #expect(TextSegmentation.label(bytes) == "a\\xFFb\\xC3\\n\\u{7}", "each invalid byte on its own: \(TextSegmentation.label(bytes))")
        #expect(TextSegmentation.firstInvalidUTF8Offset(bytes) == 1)
        #expect(throws: VizError.invalidUTF8(byteOffset: 1, escaped: "a\\xFFb\\xC3\\n\\u{7}")) {
            try TextInput.validated(bytes, allowInvalidUTF8: false)
        }
        #expect(try TextInput.validated(bytes, allowInvalidUTF8: true) == bytes, "allowed when asked")
        #expect(TextSegmentation.label(Array("\u{202E}evil".utf8)) == "\\u{202E}evil", "bidi override escaped")
    }

    @Test(arguments: ["", "   ", "\n\n", " \t "])
    func emptyTextIsRefused(text: String) {
        #expect(throws: VizError.emptyText, "text \(text.debugDescription)") {
            try TextInput.validated(Array(text.utf8), allowInvalidUTF8: false)
        }
        #expect(throws: VizError.emptyText) { try ToyAttentionModel(bytes: Array(text.utf8)) }
    }

    @Test func tooLongTextSaysWhatIsCut() throws {
        var configuration = ToyAttentionModel.Configuration()
        configuration.contextLength = 4
        let bytes = Array("one two three four five six".utf8)
        do {
            _ = try ToyAttentionModel(bytes: bytes, configuration: configuration)
            Issue.record("6 words in a context of 4 must be refused")
        } catch let error as VizError {
            #expect(error.description.contains("\"five\" \"six\""), "the message names what would be cut: \(error)")
            #expect(error.description.contains("--truncate"), "and how to keep the start: \(error)")
        }
        let cut = try ToyAttentionModel(bytes: bytes, configuration: configuration, truncate: true)
        #expect(cut.tokens == ["one", "two", "three", "four"] && cut.droppedTokens == ["five", "six"])
        #expect(cut.notes.contains { $0.contains("\"five\" \"six\"") }, "the output says what was cut")
    }

    @Test func focusFindsTokensAndRepeats() throws {
        let tokens = ["The", "cat", "sat", "on", "the", "mat"]
        #expect(try FocusToken.resolve("sat", tokens: tokens) == .token(2))
        #expect(try FocusToken.resolve("the", tokens: tokens) == .token(4), "exact case first")
        #expect(try FocusToken.resolve("THE", tokens: tokens) == .token(0), "then ignoring case")
        #expect(try FocusToken.resolve("The#2", tokens: tokens) == .token(4), "second occurrence ignoring case")
        #expect(try FocusToken.resolve("#6", tokens: tokens) == .token(5))
        #expect(try FocusToken.resolve("café", tokens: ["c", "a"], words: ["naïve", "café"]) == .word(1))
        for bad in ["dog", "#0", "#7", "sat#2"] {
            #expect(throws: VizError.unknownFocus(token: bad, tokens: tokens), "focus \(bad)") {
                try FocusToken.resolve(bad, tokens: tokens)
            }
        }
    }

    @Test func wordAggregationSumsKeysAndAveragesQueries() {
        // Bytes "ab c": words "ab" (bytes 0, 1) and "c" (byte 3); byte 2, a space, belongs to no word here.
        let grouping = WordGrouping(wordOfToken: [0, 0, nil, 1], words: ["ab", "c"])
        let a = Tensor(shape: [4, 4], scalars: [0.5, 0.2, 0.1, 0.2,
                                                 0.1, 0.3, 0.2, 0.4,
                                                 0.25, 0.25, 0.25, 0.25,
                                                 0.6, 0.1, 0.0, 0.3])
        let w = WordAggregation.aggregate(a, grouping: grouping)
        let expected: [Float] = [(0.7 + 0.4) / 2, (0.2 + 0.4) / 2, 0.7, 0.3]
        for k in 0..<4 { #expect(abs(w.scalars[k] - expected[k]) < 1e-6, "W[\(k / 2), \(k % 2)] = \(w.scalars[k]) vs \(expected[k])") }
    }

    @Test func spacesCountWithTheFollowingWord() {
        let grouping = WordGrouping(bytes: Array(" ab  c ".utf8))
        #expect(grouping.words == ["ab", "c"])
        #expect(grouping.wordOfToken == [0, 0, 0, 1, 1, 1, 1], "leading spaces join the next word, trailing the last: \(grouping.wordOfToken)")
    }

    @Test func displayWidthCountsWideAndZeroWidth() {
        #expect(DisplayWidth.of("cat") == 3)
        #expect(DisplayWidth.of("猫") == 2 && DisplayWidth.of("🐈") == 2)
        #expect(DisplayWidth.of("e\u{301}") == 1, "combining accent takes no column")
        #expect(DisplayWidth.fitted("猫が座った", width: 5) == "猫が…", "cut on a character boundary: \(DisplayWidth.fitted("猫が座った", width: 5))")
        #expect(DisplayWidth.of(DisplayWidth.fitted("猫が座った", width: 6)) == 6, "padded to the width")
    }

    @Test func colourFollowsTheTerminalAndNoColor() {
        #expect(TerminalStyle.resolve(mode: .auto, environment: [:], standardOutputIsTerminal: true).color)
        #expect(!TerminalStyle.resolve(mode: .auto, environment: ["NO_COLOR": "1"], standardOutputIsTerminal: true).color)
        // no-color.org: only a non-empty NO_COLOR disables colour (`attend`'s progress bar uses this rule too).
        #expect(TerminalStyle.resolve(mode: .auto, environment: ["NO_COLOR": ""], standardOutputIsTerminal: true).color)
        #expect(!TerminalStyle.resolve(mode: .auto, environment: [:], standardOutputIsTerminal: false).color)
        #expect(!TerminalStyle.resolve(mode: .auto, environment: ["TERM": "dumb"], standardOutputIsTerminal: true).color)
        #expect(TerminalStyle.resolve(mode: .always, environment: ["NO_COLOR": "1"], standardOutputIsTerminal: false).color)
        #expect(!TerminalStyle.resolve(mode: .never, environment: [:], standardOutputIsTerminal: true).color)
        #expect(TerminalStyle.resolve(mode: .never, environment: ["COLUMNS": "72"], standardOutputIsTerminal: true).width == 72)
    }
}
