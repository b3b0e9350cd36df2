import GongjiCore
import PropertyBased
import Testing

@Suite("R-ID-1 resident ID numbers")
struct ResidentIDTests {
    @Test("R-ID-1 worked example: x and X are the same valid number; a wrong check character fails")
    func workedExample() throws {
        let upper = try ResidentID.parse("11010519491231002X", today: today)
        let lower = try ResidentID.parse("11010519491231002x", today: today)
        #expect(upper == lower)
        #expect(lower.value == "11010519491231002X")
        #expect(reason { try ResidentID.parse("110105194912310021", today: today) } == "ID_NUMBER_CHECK_FAILED")
    }

    @Test("R-ID-1 decodes birth date, sex and registration code")
    func decodesFields() throws {
        let id = try ResidentID.parse("11010519491231002X", today: today)
        #expect(id.birthDate == CivilDate(year: 1949, month: 12, day: 31))
        #expect(id.sex == .female)  // sequence 002 is even
        #expect(id.registrationCode == "110105")
        #expect(rid(born: "19800101", sequence: 131).sex == .male)
    }

    @Test("R-ID-1 compose writes the 17 digits and their check character")
    func compose() throws {
        #expect(ResidentID.compose(area: "110105", born: CivilDate(year: 1949, month: 12, day: 31)!, sequence: 2) == "11010519491231002X")
        #expect(
            ResidentID.compose(area: "150102", born: CivilDate(year: 1980, month: 3, day: 15)!, sequence: 131)
                == idNumber("150102", born: "19800315", sequence: 131))
    }

    @Test(
        "R-ID-1 each defective part is named",
        arguments: [
            ("1101051949123100", "ID_NUMBER_LENGTH_INVALID"),
            ("11010519491231002XX", "ID_NUMBER_LENGTH_INVALID"),
            ("", "ID_NUMBER_LENGTH_INVALID"),
            ("11010519491231A02X", "ID_NUMBER_FORMAT_INVALID"),
            ("11010519491231002Y", "ID_NUMBER_FORMAT_INVALID"),
            ("１１010519491231002X", "ID_NUMBER_FORMAT_INVALID"),
            ("11010519491231002一", "ID_NUMBER_FORMAT_INVALID"),
            ("1101051949一231002X", "ID_NUMBER_FORMAT_INVALID"),
            ("110105194912一002", "ID_NUMBER_LENGTH_INVALID"),
            ("11010519491231002é", "ID_NUMBER_FORMAT_INVALID"),
            ("99010519491231002X", "ID_NUMBER_REGION_INVALID"),
            ("11010519490231002X", "ID_NUMBER_BIRTH_DATE_INVALID"),
            ("11010519491301002X", "ID_NUMBER_BIRTH_DATE_INVALID"),
            ("11010520990101002X", "ID_NUMBER_BIRTH_DATE_IN_FUTURE"),
        ])
    func defects(text: String, expected: String) {
        #expect(reason { try ResidentID.parse(text, today: today) } == expected)
    }

    @Test("R-ID-1 a birth date of today is accepted, tomorrow is in the future")
    func birthDateBoundary() {
        #expect(reason { try ResidentID.parse(idNumber(born: "20241015"), today: today) } == nil)
        #expect(reason { try ResidentID.parse(idNumber(born: "20241016"), today: today) } == "ID_NUMBER_BIRTH_DATE_IN_FUTURE")
        #expect(reason { try ResidentID.parse(idNumber(born: "20000229"), today: today) } == nil)
    }

    @Test("R-ID-1 masking shows four characters at each end; a name shows its first character and one * per other character")
    func masking() throws {
        #expect(ResidentID.mask("150102198003151234") == "1501**********1234")
        #expect("\(authorizerID)" == authorizerID.masked)
        #expect(maskName("张三") == "张*")
        #expect(maskName("欧阳娜娜") == "欧***")
        #expect(maskName("罗小明") == "罗**")
        #expect(maskName("王") == "王*")
    }

    /// Valid numbers: any birth date from 1900 to `today`, any sequence, a few registration codes.
    static let validNumber = zip(
        Gen.int(in: CivilDate(year: 1900, month: 1, day: 1)!.dayNumber...today.dayNumber),
        Gen.int(in: 0...999),
        Gen.int(in: 0...3)
    ).map { day, sequence, code in
        let born = CivilDate(dayNumber: day).description.filter { $0 != "-" }
        return idNumber(["110105", "150102", "150902", "340503"][code], born: born, sequence: sequence)
    }

    @Test("R-ID-1 property: any valid number round-trips")
    func roundTrips() async {
        await propertyCheck(count: 300, input: Self.validNumber) { text in
            let parsed = try? ResidentID.parse(text, today: today)
            #expect(parsed?.value == text)
            #expect(parsed.map { try? ResidentID.parse($0.value.lowercased(), today: today) } == parsed)
        }
    }

    @Test("R-ID-1 property: any single-digit change is caught")
    func singleDigitChangeIsCaught() async {
        await propertyCheck(count: 300, input: Self.validNumber, Gen.int(in: 0...16), Gen.int(in: 1...9)) { text, position, delta in
            var chars = Array(text)
            let digit = Int(String(chars[position]))!
            chars[position] = Character(String((digit + delta) % 10))
            #expect(reason { try ResidentID.parse(String(chars), today: today) } != nil)
        }
    }
}

@Suite("Money in fen")
struct MoneyTests {
    @Test(
        "R-ACCT-1 yuan formatting is exact",
        arguments: [
            (Int64(40500), "405.00"), (7, "0.07"), (-500, "-5.00"), (0, "0.00"), (123_456_789, "1234567.89"),
        ])
    func formatting(fen: Int64, text: String) {
        #expect(Money(fen: fen).yuanString == text)
        #expect(Money(yuan: text) == Money(fen: fen))
    }

    @Test("yuan parsing refuses more than two decimals and junk", arguments: ["1.234", "", ".5", "1.", "1e3", "1,0", "abc", "--1"])
    func parsingRefuses(text: String) {
        #expect(Money(yuan: text) == nil)
    }

    @Test("property: sums of valid amounts never overflow and equal the sum of parts")
    func sums() async {
        await propertyCheck(count: 300, input: Gen.int64(in: Int64(0)...Money.max.fen).array(of: 0...64)) { amounts in
            let parts = amounts.map { Money(fen: $0) }
            let total = Money.sum(parts)
            #expect(total != nil)
            #expect(total?.fen == amounts.reduce(0, +))
            if let total, let first = parts.first {
                #expect(total.subtracting(first).flatMap { $0.adding(first) } == total)
            }
        }
    }

    @Test("overflow is reported, not trapped")
    func overflow() {
        #expect(Money(fen: .max).adding(Money(fen: 1)) == nil)
        #expect(Money(fen: .min).subtracting(Money(fen: 1)) == nil)
        #expect(Money.sum([Money(fen: .max), Money(fen: 1)]) == nil)
    }
}

@Suite("Calendar dates and regions")
struct CivilDateAndRegionTests {
    @Test("day numbers round-trip across leap years")
    func dayNumbers() async {
        await propertyCheck(count: 300, input: Gen.int(in: -100_000...200_000)) { n in
            #expect(CivilDate(dayNumber: n).dayNumber == n)
        }
        #expect(CivilDate(year: 1970, month: 1, day: 1)!.dayNumber == 0)
        #expect(CivilDate(year: 2024, month: 2, day: 28)!.adding(days: 1) == CivilDate(year: 2024, month: 2, day: 29))
        #expect(CivilDate(year: 2025, month: 2, day: 28)!.adding(days: 1) == CivilDate(year: 2025, month: 3, day: 1))
        #expect(CivilDate(year: 2023, month: 2, day: 29) == nil)
    }

    @Test("China time is UTC+8")
    func chinaTime() {
        // 2024-12-31T16:00:00Z is 2025-01-01 00:00 in China.
        #expect(CivilDate.inChina(unixSeconds: 1_735_660_800) == CivilDate(year: 2025, month: 1, day: 1))
        #expect(CivilDate.inChina(unixSeconds: 1_735_660_799) == CivilDate(year: 2024, month: 12, day: 31))
    }

    @Test("ISO parsing", arguments: ["2024-1-01", "2024-13-01", "24-01-01", "2024-01-32", "２024-01-01"])
    func isoRefuses(text: String) { #expect(CivilDate(iso: text) == nil) }

    @Test("GB/T 2260: a city's province is its first two digits and 0000")
    func provinces() {
        #expect(RegionCode.hohhot.province == .innerMongolia)
        #expect(RegionCode.ulanqab.isInSameProvince(as: .hohhot))
        #expect(RegionCode.hefei.province == .anhui)
        #expect(!RegionCode.maanshan.isInSameProvince(as: .hohhot))
        #expect(RegionCode(990100) == nil)
        #expect(RegionCode("15010") == nil)
        #expect(RegionCode("150100") == .hohhot)
    }

    @Test("a region code a caller sent parses, or is INVALID_FIELD naming the field", arguments: ["", "15010", "990100", "15O100"])
    func regionFromCaller(text: String) throws {
        #expect(try RegionCode.parse("340500") == .maanshan)
        do {
            _ = try RegionCode.parse(text, field: "institution.region_code")
            Issue.record("\(text) parsed")
        } catch {
            #expect(error.reason == .invalidField && error.details["field"] == "institution.region_code")
        }
    }
}

@Suite("R-ACCT-1 personal accounts")
struct AccountTests {
    @Test("R-ACCT-1 at the turn of the year the current part moves into carry-over, once")
    func rollover() throws {
        let account = PersonalAccount(owner: authorizerID, year: 2024, currentYear: .yuan(300), carryOver: .yuan(500))
        let rolled = try account.rolledOver(into: 2025)
        #expect(rolled.currentYear == .zero)
        #expect(rolled.carryOver == .yuan(800))
        #expect(rolled.year == 2025)
        #expect(try rolled.rolledOver(into: 2025) == rolled)
        #expect(reason { try rolled.rolledOver(into: 2024) } == "ROLLOVER_BACKWARDS")
        #expect(rolled.total == account.total)
    }
}

@Suite("R-PERSON-1 insured persons")
struct PersonTests {
    @Test("R-PERSON-1 a person has an insurance type, a status, a pooling region and maybe a special category")
    func personFromRegistryRow() throws {
        let line =
            #"{"kind":"person","id_number":"\#(childID.value)","name":"王小明","insurance_type":"resident","status":"suspended","region_code":"150900","special_category":"disability"}"#
        guard case .person(let person, let years) = try RegistryImport.parse(Substring(line), format: .jsonLines, line: 1, today: today)
        else {
            Issue.record("expected a person row")
            return
        }
        #expect(person.insuranceType == .resident && person.status == .suspended)
        #expect(person.region == .ulanqab && person.specialCategory == "disability" && years.isEmpty)
        #expect(person.birthDate == CivilDate(year: 2010, month: 6, day: 1))
        for (field, bad) in [
            ("insurance_type", "retired"), ("status", "dead"), ("region_code", "999999"), ("special_category", "Disability"),
        ] {
            let broken = line.replacingOccurrences(
                of: field == "region_code"
                    ? "150900" : (field == "status" ? "suspended" : (field == "insurance_type" ? "resident" : "disability")), with: bad)
            #expect(throws: DomainError.self, "\(field)") {
                try RegistryImport.parse(Substring(broken), format: .jsonLines, line: 7, today: today)
            }
        }
    }
}

@Suite("R-ACCT-3 loading both parts of a balance")
struct BalanceLoadingTests {
    @Test(
        "R-ACCT-3 a credit row names its part: carry_over or current_year, absent is the current year, anything else is refused naming balance_part"
    )
    func creditRowNamesItsPart() throws {
        func part(
            _ line: String, csvColumnCount: Int = RegistryImport.csvColumns.count, format: RegistryFormat = .jsonLines
        ) throws -> BalancePart? {
            guard
                case .credit(_, _, let part, _) = try RegistryImport.parse(
                    Substring(line), format: format, line: 1, today: today,
                    csvColumnCount: csvColumnCount)
            else { return nil }
            return part
        }
        let base = #"{"kind":"credit","id_number":"\#(authorizerID.value)","amount_fen":100,"reference":"R1""#
        #expect(try part(base + #","balance_part":"carry_over"}"#) == .carryOver)
        #expect(try part(base + #","balance_part":"current_year"}"#) == .currentYear)
        #expect(try part(base + "}") == .currentYear)
        #expect(try part("credit,\(authorizerID.value),,,,,,,100,R1,carry_over", format: .csv) == .carryOver)
        #expect(try part("credit,\(authorizerID.value),,,,,,,100,R1,", format: .csv) == .currentYear)
        #expect(try part("credit,\(authorizerID.value),,,,,,,100,R1", csvColumnCount: 10, format: .csv) == .currentYear)
        do {
            _ = try part(base + #","balance_part":"carryover"}"#)
            Issue.record("an unknown part was accepted")
        } catch let error as DomainError {
            #expect(error.reason == .importRowInvalid && error.message.contains("balance_part"))
        }
        #expect(throws: DomainError.self, "11 columns where the header named 10") {
            try part("credit,\(authorizerID.value),,,,,,,100,R1,carry_over", csvColumnCount: 10, format: .csv)
        }
    }

    @Test("R-ACCT-3 a credit plan adds to the part it names, with the ledger entry on that part")
    func creditPlanAddsToItsPart() throws {
        let person = Person(id: authorizerID, name: "王建国", insuranceType: .employee, status: .normal, region: .maanshan)
        let account = PersonalAccount(owner: authorizerID, year: 2025, currentYear: .yuan(5), carryOver: .yuan(7))
        let record = PersonRecord(person: person, paidYears: [], account: account)
        for part in BalancePart.allCases {
            guard
                case .apply(let credited, let movement) = try CreditRules.plan(
                    credit: authorizerID, record: record, amount: .yuan(100), part: part,
                    reference: "R", referenceOwner: nil)
            else {
                Issue.record("nothing applied")
                continue
            }
            #expect(credited.balance(of: part) == account.balance(of: part).adding(.yuan(100)))
            #expect(credited.total == account.total.adding(.yuan(100)))
            #expect(movement.entries.first == LedgerEntry(LedgerAccount.person(authorizerID, part), .yuan(100)))
        }
        #expect(try CreditRules.validate(part: .carryOver) == .carryOver)
        #expect(throws: DomainError.self) { try CreditRules.validate(part: nil) }
    }
}

@Suite("Hexadecimal")
struct HexTests {
    @Test("Bytes become two digits each, lower-case unless upper-case is asked for")
    func hex() {
        #expect([UInt8]([0x00, 0x0f, 0xa5, 0xff]).hexEncoded() == "000fa5ff")
        #expect([UInt8]([0x00, 0x0f, 0xa5, 0xff]).hexEncoded(uppercase: true) == "000FA5FF")
        #expect([UInt8]().hexEncoded() == "")
    }
}

@Suite("Page tokens")
struct PageTokenTests {
    @Test("a token carries its cursor and tag and nothing else; anything malformed is not a token")
    func roundTrip() {
        for cursor: Int64 in [0, 1, 42, .max, .min] {
            for tag: [UInt8] in [[1], Array(repeating: 0xAB, count: 16)] {
                let token = PageToken.make(cursor: cursor, tag: tag)
                #expect(PageToken.parse(token)?.cursor == cursor && PageToken.parse(token)?.tag == tag)
                #expect(!token.contains("1501"), "no personal data")
            }
        }
        #expect(PageToken.parse("not base64 at all!") == nil)
        #expect(PageToken.parse("") == nil)
        #expect(PageToken.parse("AAAAAAAAAAA") == nil, "a cursor without a tag")
        #expect(PageToken.parse("名单") == nil)
        #expect(PageToken.parse(String(repeating: "A", count: 2000)) == nil)
    }
}

@Suite("R-ACCT-2 the year-end rollover")
struct YearEndTests {
    static let newYearsDay = CivilDate(year: 2027, month: 1, day: 1)!
    static let newYearsEve = CivilDate(year: 2026, month: 12, day: 31)!

    func reason(_ requested: Int, last: Int?, oldest: Int?, today: CivilDate) -> String? {
        do {
            try YearEnd.checkRollover(into: requested, lastRolled: last, oldestAccountYear: oldest, today: today)
            return nil
        } catch {
            return error.reason.name
        }
    }

    @Test("R-ACCT-2 only into the year after the last rollover, from 1 January (China time) of that year")
    func order() {
        #expect(reason(2027, last: 2026, oldest: 2026, today: Self.newYearsDay) == nil)
        #expect(reason(2027, last: 2026, oldest: 2026, today: Self.newYearsEve) == "ROLLOVER_YEAR_NOT_BEGUN")
        #expect(reason(2026, last: 2026, oldest: 2026, today: Self.newYearsDay) == "ROLLOVER_YEAR_INVALID")  // twice
        // Skips 2027.
        #expect(reason(2028, last: 2026, oldest: 2026, today: CivilDate(year: 2028, month: 6, day: 1)!) == "ROLLOVER_YEAR_INVALID")
        #expect(reason(2200, last: 2026, oldest: 2026, today: Self.newYearsDay) == "ROLLOVER_YEAR_INVALID")  // the typo
        #expect(reason(2025, last: 2026, oldest: 2026, today: Self.newYearsDay) == "ROLLOVER_YEAR_INVALID")  // backwards
    }

    @Test("R-ACCT-2 the refusal names the valid year")
    func validYearNamed() {
        do {
            try YearEnd.checkRollover(into: 2200, lastRolled: 2026, oldestAccountYear: 2020, today: Self.newYearsDay)
            Issue.record("expected a refusal")
        } catch {
            #expect(error.details["valid_year"] == "2027" && error.details["requested_year"] == "2200")
        }
    }

    @Test("R-ACCT-2 without a recorded rollover: the year after the oldest account; with no account, this year")
    func firstRollover() {
        #expect(YearEnd.nextRolloverYear(lastRolled: nil, oldestAccountYear: 2026, today: Self.newYearsDay) == 2027)
        #expect(YearEnd.nextRolloverYear(lastRolled: nil, oldestAccountYear: nil, today: Self.newYearsDay) == 2027)
        #expect(YearEnd.nextRolloverYear(lastRolled: 2030, oldestAccountYear: 2020, today: Self.newYearsDay) == 2031)
        #expect(reason(2027, last: nil, oldest: nil, today: Self.newYearsDay) == nil)
    }
}
