fn main() -> std::process::ExitCode {
    signgate::cli::main()
}
