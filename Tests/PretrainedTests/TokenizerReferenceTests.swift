import Foundation
import Pretrained
import Testing

/// Token ids against the reference tokenizer (sentence-transformers' / Hugging Face
/// `tokenizers`) for every tricky string in the fixture: exact equality, no tolerance.
@Suite(.enabled(if: ReferenceModel.isEnabled, ReferenceModel.skipNote))
struct TokenizerReferenceTests {
    @Test(arguments: ReferenceModel.fixture.tokenizer.indices)
    func tokenIDsEqualTheReference(index: Int) throws {
        let reference = ReferenceModel.fixture.tokenizer[index]
        let tokenizer = try ReferenceModel.encoder().tokenizer
        let ids = tokenizer.encode(reference.text)
        #expect(ids == reference.ids, """
            case \(index) "\(reference.text.caseLabel)": \
            got \(tokenizer.tokens(for: ids)) expected \(tokenizer.tokens(for: reference.ids))
            """)
    }

    @Test func sequenceLengthComesFromSentenceBertConfig() throws {
        #expect(try ReferenceModel.encoder().tokenizer.maximumSequenceLength == ReferenceModel.fixture.maxSequenceLength)
    }
}
